-- Issue 15: the usage write statement (ledger/debit-usage.ts) takes each part from its grant, and a
-- capped website's pool credits from its cap, with UPDATEs guarded by what is left. When two
-- processes debit one pool, the second UPDATE waits for the first's commit and then re-checks the
-- row's newer version (EvalPlanQual), which builds a second executor state for the whole statement it
-- belongs to: for the write's ~60 plan nodes, half of PostgreSQL's CPU under two processes
-- (perf, bench/write-cost.ts WRITERS=2). As functions, the UPDATEs are statements of their own:
-- the re-check rebuilds only their own small plans. Same guards, same row locks, same answers.
-- One UPDATE per row, by primary key, in the order given (ascending ids from the caller, so two
-- writes lock shared rows in one order): a plan cached by the function cannot turn into a scan.
CREATE FUNCTION usage_debit_grants(ids bigint[], amounts bigint[]) RETURNS TABLE (grant_id bigint, credits_left bigint)
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    UPDATE credit_grants g SET remaining = g.remaining - amounts[i]
     WHERE g.id = ids[i] AND g.remaining >= amounts[i]
    RETURNING g.id, g.remaining INTO grant_id, credits_left;
    IF FOUND THEN RETURN NEXT; END IF;
  END LOOP;
END
$$;--> statement-breakpoint
CREATE FUNCTION usage_draw_caps(month text, websites uuid[], amounts bigint[]) RETURNS TABLE (capped_website uuid, credits_used bigint)
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. coalesce(array_length(websites, 1), 0) LOOP
    UPDATE website_pool_caps c
       SET used_credits = (CASE WHEN c.used_month = month THEN c.used_credits ELSE 0 END) + amounts[i], used_month = month, updated_at = now()
     WHERE c.website_id = websites[i] AND (CASE WHEN c.used_month = month THEN c.used_credits ELSE 0 END) + amounts[i] <= c.monthly_credits
    RETURNING c.website_id, c.used_credits INTO capped_website, credits_used;
    IF FOUND THEN RETURN NEXT; END IF;
  END LOOP;
END
$$;
