-- The debit hot path (issue 15). The debit transaction itself guarantees what these foreign keys
-- re-checked row by row (the event's website and organization were just read by it, its grants
-- are locked FOR UPDATE by it, its ledger entries reference the event it inserts in the same
-- statement), and nothing deletes organizations, websites, grants or events (soft deletes). Each
-- check cost an index probe and a KEY SHARE row lock per inserted row (a multixact when two
-- processes debit for one organization). The invariant (ledger/invariant.ts: balances, event
-- debits, no orphan entry) is asserted by the tests and by the scheduler's periodic verifier.
ALTER TABLE "usage_events" DROP CONSTRAINT "usage_events_org_id_organizations_id_fk";--> statement-breakpoint
ALTER TABLE "usage_events" DROP CONSTRAINT "usage_events_website_id_websites_id_fk";--> statement-breakpoint
ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_grant_id_credit_grants_id_fk";--> statement-breakpoint
ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_usage_event_id_usage_events_id_fk";--> statement-breakpoint
-- Nothing looks entries up by event (joins go from the entry to its event's primary key).
DROP INDEX "ledger_entries_usage_idx";--> statement-breakpoint
-- `remaining` in a partial index's predicate made every debit a non-HOT update of the grant row
-- (new entries in all five indexes of credit_grants, each time). Without it a debit updates the
-- hot grant in place; the reads filter `remaining > 0` themselves. (group_id, kind) lookups use
-- credit_grants_group_all_idx.
DROP INDEX "credit_grants_group_idx";--> statement-breakpoint
DROP INDEX "credit_grants_website_idx";--> statement-breakpoint
CREATE INDEX "credit_grants_website_idx" ON "credit_grants" USING btree ("website_id");--> statement-breakpoint
-- Room in each page for the in-place (HOT) versions of a hot grant.
ALTER TABLE "credit_grants" SET (fillfactor = 50);
