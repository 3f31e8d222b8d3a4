-- The demo load's finished steps (seed-billing.ts): each step is recorded in the transaction that
-- does it, so a load interrupted by a crash or an outage resumes on the next start where it
-- stopped, and `complete` marks a demo that may accept sign-ins.
CREATE TABLE "demo_steps" (
	"step" text PRIMARY KEY NOT NULL,
	"done_at" timestamp with time zone DEFAULT now() NOT NULL
);
