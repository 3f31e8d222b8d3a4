-- A cap set while a debit of the pool waits for the pool's grants (controls/pool-caps.ts locks them,
-- counts the month's draws from the ledger and inserts the cap): the debit's write statement read
-- the caps with the snapshot it started with, before the cap was committed, so it passed without
-- the cap and its draw was in neither the cap's count nor the ledger the cap was counted from. As a
-- function, this check reads the caps with a snapshot of its own, taken after the write holds the
-- grants (ledger/debit-usage.ts calls it after the guarded UPDATEs): a cap committed by then makes
-- the write stale, and the debit is planned again against it.
CREATE FUNCTION usage_caps_set(websites uuid[], pools uuid[]) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM website_pool_caps c JOIN unnest(websites, pools) AS s(website_id, group_id)
     ON c.website_id = s.website_id AND c.group_id = s.group_id;
  RETURN FOUND;
END
$$;
