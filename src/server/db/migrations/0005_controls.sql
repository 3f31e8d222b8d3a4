-- Pool controls (issue 14): per-group settings and pool state, per-website caps, the outgoing-webhook outbox, auto top-ups.
CREATE TABLE "group_controls" (
	"group_id" uuid PRIMARY KEY NOT NULL REFERENCES "groups"("id"),
	"low_balance_threshold" bigint,
	"alert_webhook_url" text,
	"webhook_signing_secret" text NOT NULL,
	"auto_top_up_threshold" bigint,
	"auto_top_up_packages" integer,
	"auto_top_up_max_per_month" integer,
	"auto_top_up_enabled" boolean DEFAULT false NOT NULL,
	"auto_top_up_disabled_reason" text,
	"is_low" boolean DEFAULT false NOT NULL,
	"top_up_seq" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "group_controls_threshold_ck" CHECK ("low_balance_threshold" is null or "low_balance_threshold" >= 0),
	CONSTRAINT "group_controls_top_up_ck" CHECK (not "auto_top_up_enabled" or ("auto_top_up_threshold" >= 0 and "auto_top_up_packages" between 1 and 50 and "auto_top_up_max_per_month" >= 1))
);
--> statement-breakpoint
CREATE TABLE "website_pool_caps" (
	"website_id" uuid PRIMARY KEY NOT NULL REFERENCES "websites"("id"),
	"group_id" uuid NOT NULL REFERENCES "groups"("id"),
	"monthly_credits" bigint NOT NULL,
	"used_month" text NOT NULL,
	"used_credits" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "website_pool_caps_ck" CHECK ("monthly_credits" >= 0 and "used_credits" >= 0)
);
--> statement-breakpoint
CREATE INDEX "website_pool_caps_group_idx" ON "website_pool_caps" USING btree ("group_id");
--> statement-breakpoint
CREATE TABLE "alert_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"group_id" uuid NOT NULL REFERENCES "groups"("id"),
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"url" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "alert_outbox_group_idx" ON "alert_outbox" USING btree ("group_id","created_at");
--> statement-breakpoint
CREATE INDEX "alert_outbox_due_idx" ON "alert_outbox" USING btree ("next_attempt_at") WHERE "next_attempt_at" is not null;
--> statement-breakpoint
CREATE TABLE "auto_top_ups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"group_id" uuid NOT NULL REFERENCES "groups"("id"),
	"seq" integer NOT NULL,
	"month" text NOT NULL,
	"packages" integer NOT NULL,
	"status" text NOT NULL,
	"purchase_id" uuid REFERENCES "purchases"("id"),
	"attempts" integer DEFAULT 0 NOT NULL,
	"claimed_until" timestamp with time zone,
	"failure_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "auto_top_ups_status_ck" CHECK ("status" in ('pending', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "auto_top_ups_crossing_uq" ON "auto_top_ups" USING btree ("group_id","seq");
--> statement-breakpoint
CREATE UNIQUE INDEX "auto_top_ups_in_flight_uq" ON "auto_top_ups" USING btree ("group_id") WHERE "status" = 'pending';
--> statement-breakpoint
CREATE INDEX "auto_top_ups_month_idx" ON "auto_top_ups" USING btree ("group_id","month");
