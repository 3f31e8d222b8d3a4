import type { CreditSource } from "../../../contracts/usage.js";
import type { creditGrants } from "../../db/schema.js";

export type GrantKind = (typeof creditGrants.$inferSelect)["kind"];

/** The consumption source (domain) of each kind of grant. */
export const SOURCE_OF: Record<GrantKind, CreditSource> = { website: "website", monthly: "group_monthly", one_time: "group_one_time" };

/**
 * The spendable rule of `src/domain/consumption.ts` in SQL, for the balance reads: a grant counts
 * until its end (`expires_at > now`) and until its remainder was written off; what it holds is then
 * spendable. Written once here; `alias` is the credit_grants alias, `nowParam` a timestamptz.
 */
export const liveGrantSql = (alias: string, nowParam: string) =>
  `((${alias}.expires_at is null or ${alias}.expires_at > ${nowParam}) and ${alias}.expired_at is null)`;
