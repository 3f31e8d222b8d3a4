-- A group's first pool controls (controls/settings-service.ts) saved while a debit of the pool that
-- was planned without them is under way: the debit's write statement read group_controls with the
-- snapshot it started with, so it passed, and did not bring the pool's low-balance state up to date
-- after it, while the save had read the pool's balance before the debit committed: a crossing with no
-- `group.credits.low`. As a function, this check reads group_controls with a snapshot of its own,
-- taken after the write holds the pool's grants (ledger/debit-usage.ts), and the save takes the
-- pool's grants before it reads the balance: whichever gets the pool first, the other sees it.
CREATE FUNCTION usage_pools_controlled(pools uuid[]) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM group_controls WHERE group_id = ANY(pools);
  RETURN FOUND;
END
$$;
