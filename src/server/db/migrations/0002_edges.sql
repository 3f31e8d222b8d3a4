-- Sign-in throttling counts failures per client address (and per address and account).
ALTER TABLE "login_attempts" ADD COLUMN "client_address" text NOT NULL DEFAULT 'unknown';--> statement-breakpoint
CREATE INDEX "login_attempts_address_idx" ON "login_attempts" USING btree ("client_address","created_at");--> statement-breakpoint
-- When a key was last used, written at most every few minutes per key (not once per request).
ALTER TABLE "api_keys" ADD COLUMN "last_used_at" timestamp with time zone;--> statement-breakpoint
-- Every process caches keys; a revoked (or deleted) key is announced to all of them at commit.
CREATE FUNCTION "notify_api_key_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('api_keys_changed', OLD.key_hash);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "api_keys_changed_on_update" AFTER UPDATE ON "api_keys" FOR EACH ROW
  WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.org_id IS DISTINCT FROM NEW.org_id)
  EXECUTE FUNCTION "notify_api_key_change"();--> statement-breakpoint
CREATE TRIGGER "api_keys_changed_on_delete" AFTER DELETE ON "api_keys" FOR EACH ROW EXECUTE FUNCTION "notify_api_key_change"();--> statement-breakpoint
-- Answers of outside services shared by every process (invoices per group), and marks of calls
-- made (purchase reconcile), so a reload loop cannot turn into a Stripe rate-limit outage.
CREATE TABLE "outside_calls" (
  "key" text PRIMARY KEY NOT NULL,
  "value" jsonb,
  "at" timestamp with time zone NOT NULL DEFAULT now()
);--> statement-breakpoint
-- A payment recorded for a group (its invoice, its grant, a purchase settling) purges the group's
-- cached invoices, whichever process or webhook wrote it: a null value stamped now() also stops
-- a fetch that started earlier from storing its older answer.
CREATE FUNCTION "purge_group_invoices"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.group_id IS NOT NULL THEN
    INSERT INTO "outside_calls" ("key", "value", "at") VALUES ('invoices:' || NEW.group_id, NULL, now())
      ON CONFLICT ("key") DO UPDATE SET "value" = NULL, "at" = greatest("outside_calls"."at", now());
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "invoices_purge_cache" AFTER INSERT OR UPDATE ON "invoices" FOR EACH ROW EXECUTE FUNCTION "purge_group_invoices"();--> statement-breakpoint
CREATE TRIGGER "credit_grants_purge_invoices" AFTER INSERT ON "credit_grants" FOR EACH ROW EXECUTE FUNCTION "purge_group_invoices"();--> statement-breakpoint
CREATE TRIGGER "purchases_purge_invoices" AFTER UPDATE OF "status" ON "purchases" FOR EACH ROW EXECUTE FUNCTION "purge_group_invoices"();
