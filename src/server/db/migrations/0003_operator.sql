ALTER TABLE "organizations" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "groups" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "groups" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "websites" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "websites" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "external_id" text;--> statement-breakpoint
ALTER TABLE "users" ALTER COLUMN "password_hash" DROP NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_external_uq" ON "organizations" USING btree ("external_id") WHERE "organizations"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "groups_external_uq" ON "groups" USING btree ("org_id","external_id") WHERE "groups"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "websites_external_uq" ON "websites" USING btree ("external_id") WHERE "websites"."deleted_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "users_external_uq" ON "users" USING btree ("external_id");--> statement-breakpoint
CREATE TABLE "handoff_tokens" (
	"jti" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "handoff_tokens_expires_idx" ON "handoff_tokens" USING btree ("expires_at");
