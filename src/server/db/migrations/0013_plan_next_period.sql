-- Issue 12: a quantity the customer lowered in the Stripe customer portal applies from the next
-- period (a subscription schedule). Kept here so the page can say "Changes to 2 packages on …";
-- the renewal invoice still decides what is granted. Null when nothing is scheduled.
ALTER TABLE "plans" ADD COLUMN "next_period_quantity" integer;
