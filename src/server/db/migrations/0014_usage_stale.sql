-- Issue 15: the usage debit may plan against balances read without row locks (optimistic, see
-- ledger/debit-usage.ts) and write with a check that every balance, cap and event is still as
-- read. When one is not, the write statement calls this (saying which) to fail as a whole with a serialization
-- failure (40001): nothing of it is kept, and the batch is planned again.
CREATE FUNCTION usage_plan_stale(reason text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'usage debit planned against a state that changed meanwhile: %', reason USING ERRCODE = '40001';
END
$$;
