/**
 * The ledger: the only writer of `credit_grants` and `ledger_entries` (docs/decisions/0004).
 * Grant, debit, expire, adjust; the one balance query; the invariant checker. Every function
 * that depends on time takes `now` from the caller's clock.
 */
export { adjustGrant } from "./adjust-credits.js";
export { findCreditBalances, type CreditBalances, type KindBalance } from "./balances.js";
export { DebitCache } from "./debit-state.js";
export { SOURCE_CODE } from "./event-answer.js";
export { debitUsageBatch, debitUsageOptimistic, holdPoolForSetting, NeedsLock, NeedsRead, type UsageEvent, type UsageOutcome } from "./debit-usage.js";
export { endMonthlyCredits, expireDueGrants, expireGrants, extendMonthlyGrant } from "./expire-credits.js";
export { grantCredits, grantMonthlyPeriod, type GrantResult, type NewGrant } from "./grant-credits.js";
export { liveGrantSql, SOURCE_OF, type GrantKind } from "./grant-kinds.js";
export { findInvariantViolations } from "./invariant.js";
