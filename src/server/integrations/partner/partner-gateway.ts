import type { PaidInvoice } from "../../modules/billing/ports.js";
import { z } from "zod";
import { BillingUnavailableError } from "./partner-errors.js";
import { partnerHttp, type PartnerHttpOutcome } from "./partner-http.js";

export interface PartnerGatewayOptions {
  apiBase: string;
  apiKey: string;
  /** Upper bound for one call. */
  timeoutMs?: number;
}

const PartnerChargeSchema = z.object({
  id: z.string(),
  accountId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  description: z.string(),
  status: z.literal("succeeded"),
  createdAt: z.string(),
  receiptUrl: z.string(),
});
export type PartnerCharge = z.infer<typeof PartnerChargeSchema>;

const ChargeListSchema = z.object({ data: z.array(PartnerChargeSchema) });
const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/**
 * `declined`: the partner refused the payment (retrying will not help until the account is fixed).
 * `unavailable`: the request never reached the partner (connection refused or never opened), or
 * the partner answered 5xx: nothing was charged. Map to `503 billing_unavailable`.
 * `unknown`: the request was sent but no answer came (timeout, connection lost): the partner may
 * have charged. Keep the purchase pending and settle it with `findChargeByIdempotencyKey` (or by
 * sending the same charge again with the same idempotency key, which never charges twice).
 * `rejected`: the request itself was refused (bad key, bad input, key reused for another charge).
 */
export type PartnerChargeFailureCode = "declined" | "unavailable" | "unknown" | "rejected";
export type PartnerChargeFailure = { ok: false; reason: string; code: PartnerChargeFailureCode };
export type PartnerChargeResult = { ok: true; charge: PartnerCharge } | PartnerChargeFailure;

/** A partner charge as billing history. */
export type PartnerInvoice = PaidInvoice;

export type PartnerGateway = ReturnType<typeof createPartnerGateway>;

const TIMEOUT_REASON = "The partner billing service did not answer in time.";
const LOST_REASON = "The connection to the partner billing service was lost before it answered.";
const UNREACHABLE_REASON = "The partner billing service could not be reached.";
const FAILED_REASON = "The partner billing service failed to process the charge.";

function noAnswerReason(outcome: Exclude<PartnerHttpOutcome, { kind: "answer" }>): string {
  if (outcome.kind === "not_sent") return outcome.reason === "timeout" ? TIMEOUT_REASON : UNREACHABLE_REASON;
  return outcome.reason === "timeout" ? TIMEOUT_REASON : LOST_REASON;
}

export function createPartnerGateway({ apiBase, apiKey, timeoutMs = 3000 }: PartnerGatewayOptions) {
  const base = apiBase.replace(/\/$/, "");

  /** One call under one deadline (connect, send and the whole answer). */
  function request(path: string, init: { method?: "GET" | "POST"; headers?: Record<string, string>; body?: string } = {}) {
    return partnerHttp({
      url: new URL(`${base}${path}`),
      method: init.method ?? "GET",
      headers: { authorization: `Bearer ${apiKey}`, accept: "application/json", ...init.headers },
      body: init.body,
      timeoutMs,
    });
  }

  /** A read: any failure to get a 200 is an outage. */
  async function read(path: string, what: string): Promise<unknown> {
    const outcome = await request(path);
    if (outcome.kind !== "answer") throw new BillingUnavailableError(noAnswerReason(outcome), { cause: outcome.cause });
    if (outcome.status !== 200) throw new BillingUnavailableError(`The partner billing service answered ${outcome.status} to ${what}.`);
    return outcome.body;
  }

  return {
    /**
     * Charges the partner account once per idempotency key. Never throws: see
     * PartnerChargeFailure for what each failure means.
     */
    async charge({
      accountId,
      amount,
      currency,
      description,
      idempotencyKey,
    }: {
      accountId: string;
      amount: number;
      currency: string;
      description: string;
      idempotencyKey: string;
    }): Promise<PartnerChargeResult> {
      const outcome = await request("/v1/charges", {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
        body: JSON.stringify({ accountId, amount, currency, description }),
      });
      if (outcome.kind === "not_sent") return { ok: false, code: "unavailable", reason: noAnswerReason(outcome) };
      if (outcome.kind === "no_answer") return { ok: false, code: "unknown", reason: noAnswerReason(outcome) };
      return toChargeResult(outcome);
    },

    /**
     * The charge made for this idempotency key, or null when the partner has none (nothing was
     * charged, or the request has not reached it). A declined attempt leaves no charge.
     * Throws BillingUnavailableError on outage.
     */
    async findChargeByIdempotencyKey(idempotencyKey: string): Promise<PartnerCharge | null> {
      const body = await read(`/v1/charges?idempotencyKey=${encodeURIComponent(idempotencyKey)}`, "a charge lookup");
      const parsed = ChargeListSchema.safeParse(body);
      if (!parsed.success) throw new BillingUnavailableError("The partner billing service answered a charge lookup in an unknown shape.");
      return parsed.data.data[0] ?? null;
    },

    /** Succeeded charges of the account as invoices, newest first. Throws BillingUnavailableError on outage. */
    async listCharges(accountId: string): Promise<PartnerInvoice[]> {
      const body = await read(`/v1/charges?accountId=${encodeURIComponent(accountId)}`, "a charge list");
      const parsed = ChargeListSchema.safeParse(body);
      if (!parsed.success) throw new BillingUnavailableError("The partner billing service answered a charge list in an unknown shape.");
      return parsed.data.data
        .map(toPartnerInvoice)
        .sort((a, b) => b.paidAt.getTime() - a.paidAt.getTime());
    },
  };
}

function toChargeResult({ status, body }: { status: number; body: unknown }): PartnerChargeResult {
  if (status === 200 || status === 201) {
    const parsed = PartnerChargeSchema.safeParse(body);
    if (parsed.success) return { ok: true, charge: parsed.data };
    // It said "charged" in a shape we cannot read: the money may have moved.
    return { ok: false, code: "unknown", reason: FAILED_REASON };
  }
  const message = ErrorSchema.safeParse(body).data?.error.message;
  if (status === 402) return { ok: false, code: "declined", reason: message ?? "The partner declined the charge." };
  if (status >= 500) return { ok: false, code: "unavailable", reason: FAILED_REASON };
  return { ok: false, code: "rejected", reason: message ?? `The partner billing service refused the charge (${status}).` };
}

function toPartnerInvoice(charge: PartnerCharge): PartnerInvoice {
  return {
    id: charge.id,
    number: null,
    paidAt: new Date(charge.createdAt),
    description: charge.description,
    total: { amount: charge.amount, currency: charge.currency },
    hostedInvoiceUrl: charge.receiptUrl,
  };
}
