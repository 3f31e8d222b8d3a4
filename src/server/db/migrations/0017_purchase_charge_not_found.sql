-- A partner purchase whose charge outcome was unknown is failed once the partner has had no charge
-- for its key for a while; a slow partner may still commit that charge later. Such a purchase is
-- marked here, so the settling loop keeps reading it back by its key (billing/settle-purchases.ts)
-- and grants it if the charge turns up; a real decline is never marked, and never read back.
ALTER TABLE "purchases" ADD COLUMN "charge_not_found" boolean DEFAULT false NOT NULL;
