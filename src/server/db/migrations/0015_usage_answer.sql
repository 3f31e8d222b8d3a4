-- Issue 15: a usage event keeps its first answer (returned again for a replay) as a few numbers
-- instead of the whole answer as jsonb (ledger/event-answer.ts): the hot write binds, parses and
-- stores ~5 numbers per event instead of ~230 bytes of JSON. Rows written before keep their
-- `response`; a row has one or the other.
ALTER TABLE "usage_events" ADD COLUMN "answer" bigint[];--> statement-breakpoint
ALTER TABLE "usage_events" ALTER COLUMN "response" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_events" ADD CONSTRAINT "usage_events_answer_ck" CHECK ("usage_events"."answer" is not null or "usage_events"."response" is not null);
