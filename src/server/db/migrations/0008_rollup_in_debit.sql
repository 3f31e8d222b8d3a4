-- The usage_daily rollup is written by the debit statement itself (ledger/debit-usage.ts: one
-- upsert per group and website of the batch, from the parts it just planned), in the same
-- transaction as the debits. The statement-level trigger of 0004 probed usage_events once per
-- debit entry for the website of a pool debit and cost about a third of the hot path's
-- throughput (docs/performance.md). Debits are written only by debitUsageBatch.
DROP TRIGGER "ledger_entries_usage_daily" ON "ledger_entries";--> statement-breakpoint
DROP FUNCTION "usage_daily_add_debits"();
