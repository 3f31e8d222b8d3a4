import type { PaidInvoice } from "../../modules/billing/ports.js";
import { z } from "zod";
import { BillingUnavailableError } from "./partner-errors.js";

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
 * `unavailable`: no answer, timeout or 5xx; nothing is known to be charged, so retrying with the
 * same idempotency key is safe and never charges twice.
 * `rejected`: the request itself was refused (bad key, bad input, key reused for another charge).
 */
export type PartnerChargeFailure = { ok: false; reason: string; code: "declined" | "unavailable" | "rejected" };
export type PartnerChargeResult = { ok: true; charge: PartnerCharge } | PartnerChargeFailure;

/** A partner charge as billing history. */
export type PartnerInvoice = PaidInvoice;

export type PartnerGateway = ReturnType<typeof createPartnerGateway>;

const TIMEOUT_REASON = "The partner billing service did not answer in time.";
const UNREACHABLE_REASON = "The partner billing service could not be reached.";
const FAILED_REASON = "The partner billing service failed to process the charge.";

export function createPartnerGateway({ apiBase, apiKey, timeoutMs = 3000 }: PartnerGatewayOptions) {
  const base = apiBase.replace(/\/$/, "");

  /** fetch + body under one deadline; throws a DOMException "TimeoutError" when it passes. */
  async function request(path: string, init: RequestInit = {}): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${base}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${apiKey}`, accept: "application/json", ...init.headers },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, body: text === "" ? null : parseJson(text) };
  }

  return {
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
      let answer: { status: number; body: unknown };
      try {
        answer = await request("/v1/charges", {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": idempotencyKey },
          body: JSON.stringify({ accountId, amount, currency, description }),
        });
      } catch (error) {
        return { ok: false, code: "unavailable", reason: isTimeout(error) ? TIMEOUT_REASON : UNREACHABLE_REASON };
      }
      return toChargeResult(answer);
    },

    /** Succeeded charges of the account as invoices, newest first. Throws BillingUnavailableError on outage. */
    async listCharges(accountId: string): Promise<PartnerInvoice[]> {
      let answer: { status: number; body: unknown };
      try {
        answer = await request(`/v1/charges?accountId=${encodeURIComponent(accountId)}`);
      } catch (error) {
        throw new BillingUnavailableError(isTimeout(error) ? TIMEOUT_REASON : UNREACHABLE_REASON, { cause: error });
      }
      const parsed = ChargeListSchema.safeParse(answer.body);
      if (answer.status !== 200 || !parsed.success) {
        throw new BillingUnavailableError(`The partner billing service answered ${answer.status} to a charge list.`);
      }
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
    return { ok: false, code: "unavailable", reason: FAILED_REASON };
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

function isTimeout(error: unknown): boolean {
  return error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
