import type { BillingDeps, GroupRef } from "./billing-deps.js";
import { findProfile } from "./billing-repo.js";

/** One billing profile per group; repeating it (even concurrently) creates nothing more. */
export async function enableBilling(deps: BillingDeps, group: GroupRef) {
  const { database } = deps;
  const existing = await findProfile(database.query, group.id);
  if (existing) return { enabled: true as const, customerType: existing.customer_type };
  const { rows } = await database.query<{ partner_managed: boolean; partner_account_id: string | null }>(
    "select partner_managed, partner_account_id from organizations where id = $1",
    [group.orgId],
  );
  const org = rows[0]!;
  if (org.partner_managed) {
    await database.query(
      `insert into billing_profiles (group_id, customer_type, partner_account_id) values ($1, 'partner', $2) on conflict do nothing`,
      [group.id, org.partner_account_id],
    );
  } else {
    // The same idempotency key (its chain, past a 500 Stripe saved) makes Stripe answer concurrent or
    // repeated calls with one customer; the first one recorded is the group's either way.
    const customer = await deps.stripe.createCustomer({ groupId: group.id, name: group.name, idempotencyKey: `enable-billing:${group.id}` });
    await database.query(
      `insert into billing_profiles (group_id, customer_type, stripe_customer_id) values ($1, 'standard', $2) on conflict do nothing`,
      [group.id, customer.id],
    );
  }
  const profile = await findProfile(database.query, group.id);
  return { enabled: true as const, customerType: profile!.customer_type };
}
