-- A pool cap or a group's pool controls set while a debit of the pool waits for the pool's grants:
-- the debit's write statement (ledger/debit-usage.ts) checked caps and controls with the snapshot it
-- started with, before the setting was committed, so it passed without them (a cap that never
-- counted the debit; a first low-balance threshold whose crossing emitted nothing). Whoever sets
-- them now raises the pool's grants' `pool_epoch` under the grants' row locks (controls/pool-caps.ts,
-- controls/settings-service.ts), and each guarded UPDATE of the write takes its grant only at the
-- epoch the write's own snapshot read: a setting committed after that snapshot fails the UPDATE's
-- re-check, and the debit is planned again (`a grant no longer covers its part`), against it. Two
-- debits never change the epoch, so they still commute. The epochs are read by a STABLE function,
-- which runs with its caller's snapshot: the write's own plan stays as it was (a subquery in its
-- place made PostgreSQL's default plan choice plan the whole write again on every call).
ALTER TABLE "credit_grants" ADD COLUMN "pool_epoch" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
DROP FUNCTION usage_debit_grants(bigint[], bigint[]);--> statement-breakpoint
CREATE FUNCTION usage_grant_epochs(ids bigint[]) RETURNS integer[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN array(SELECT coalesce((SELECT g.pool_epoch FROM credit_grants g WHERE g.id = t.id), -1) FROM unnest(ids) WITH ORDINALITY AS t(id, n) ORDER BY t.n);
END
$$;--> statement-breakpoint
CREATE FUNCTION usage_debit_grants(ids bigint[], amounts bigint[], epochs integer[]) RETURNS TABLE (grant_id bigint, credits_left bigint)
LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    UPDATE credit_grants g SET remaining = g.remaining - amounts[i]
     WHERE g.id = ids[i] AND g.remaining >= amounts[i] AND g.pool_epoch = epochs[i]
    RETURNING g.id, g.remaining INTO grant_id, credits_left;
    IF FOUND THEN RETURN NEXT; END IF;
  END LOOP;
END
$$;
