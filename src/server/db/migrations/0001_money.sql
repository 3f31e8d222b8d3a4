DROP TABLE "idempotency_records";
--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "raises_plan" boolean DEFAULT false NOT NULL;
--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "stripe_invoice_id" text;
--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "stripe_subscription_id" text;
--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "checked_at" timestamp with time zone;
--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_stripe_invoice_id_unique" UNIQUE("stripe_invoice_id");
--> statement-breakpoint
CREATE INDEX "purchases_pending_idx" ON "purchases" USING btree ("created_at") WHERE "purchases"."status" = 'pending';
--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "quantity_synced" boolean DEFAULT true NOT NULL;
--> statement-breakpoint
ALTER TABLE "plans" ADD COLUMN "renewal_claimed_at" timestamp with time zone;
