import { createHash, randomBytes } from "node:crypto";
import { Hono, type Context, type Next } from "hono";
import { z } from "zod";
import { newControlToken, requireControlToken } from "../shared/control-token.js";
import { createHangGate } from "../shared/fault-gate.js";
import { listen } from "../shared/http-server.js";
import { createJsonStateFile } from "../shared/json-state-file.js";
import { renderPartnerNotFound, renderPortalPage, renderReceiptPage } from "./partner-pages.js";
import { emptyPartnerState, type PartnerCharge, type PartnerEmulatorState } from "./partner-state.js";

/**
 * - `decline`: charges answer 402 card_declined and charge nothing.
 * - `error`: every API call answers 500 and does nothing.
 * - `hang`: every API call is held without an answer and does nothing (a request lost on the way).
 * - `delay`: a new charge is taken at once, but its answer comes only after `delayMs` (a client
 *   that gives up sooner leaves a real charge behind). Lookups and lists answer at once.
 */
export type PartnerFaultMode = "none" | "decline" | "error" | "hang" | "delay";

export interface PartnerFaultOptions {
  /** For `delay`: how long the answer to a charge is held (default 5,000 ms). */
  delayMs?: number;
}

export interface PartnerEmulatorOptions {
  port: number;
  dataDir: string | null;
  apiKey: string;
  /** Base URL used in receipt links; defaults to the listening address. */
  publicUrl?: string;
  /** Secret for `/_emulator/*` (header `x-emulator-control-token`); a random one per run by default. */
  controlToken?: string;
}

export interface PartnerEmulator {
  url: string;
  /** The per-run token `/_emulator/*` requires. */
  controlToken: string;
  close(): Promise<void>;
  setFault(mode: PartnerFaultMode, options?: PartnerFaultOptions): void;
  charges(): PartnerCharge[];
}

export const PARTNER_EMULATOR_STATE_FILE = "partner-emulator.json";

const ChargeRequest = z
  .object({
    accountId: z.string().min(1),
    amount: z.number().int().positive(),
    currency: z.string().regex(/^[a-zA-Z]{3}$/),
    description: z.string().min(1).max(500),
  })
  .strict();

const FaultRequest = z.object({
  mode: z.enum(["none", "decline", "error", "hang", "delay"]),
  delayMs: z.number().int().min(0).max(120_000).optional(),
});

const DEFAULT_DELAY_MS = 5000;

function apiError(c: Context, status: 400 | 401 | 402 | 404 | 409 | 500 | 503, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

export async function startPartnerEmulator(options: PartnerEmulatorOptions): Promise<PartnerEmulator> {
  const stateFile = createJsonStateFile<PartnerEmulatorState>({ dataDir: options.dataDir, fileName: PARTNER_EMULATOR_STATE_FILE });
  const state = stateFile.load() ?? emptyPartnerState();
  let fault: PartnerFaultMode = "none";
  let delayMs = DEFAULT_DELAY_MS;
  let publicUrl = options.publicUrl ?? "";
  const hangGate = createHangGate();
  const setFault = (mode: PartnerFaultMode, faultOptions: PartnerFaultOptions = {}) => {
    fault = mode;
    delayMs = faultOptions.delayMs ?? DEFAULT_DELAY_MS;
    if (mode !== "hang") hangGate.releaseAll();
  };
  const held = new Set<() => void>();
  /** Holds an answer for `ms`, or until the emulator closes. */
  const holdAnswer = (ms: number) =>
    new Promise<void>((resolve) => {
      const release = () => {
        clearTimeout(timer);
        held.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      held.add(release);
    });

  const controlToken = options.controlToken ?? newControlToken();
  const app = new Hono();
  app.use("/_emulator/*", requireControlToken(controlToken));
  app.use("/v1/*", async (c: Context, next: Next) => {
    if (fault === "hang") {
      await hangGate.wait();
      return apiError(c, 503, "unavailable", "The partner billing emulator stopped hanging.");
    }
    if (fault === "error") return apiError(c, 500, "internal_error", "The partner billing service had an internal error.");
    if (c.req.header("authorization") !== `Bearer ${options.apiKey}`) {
      return apiError(c, 401, "unauthenticated", "A valid partner API key is required.");
    }
    await next();
  });

  app.post("/v1/charges", async (c) => {
    const key = c.req.header("idempotency-key");
    if (!key) return apiError(c, 400, "invalid_request", "An Idempotency-Key header is required.");
    const rawBody = await c.req.text();
    const parsed = ChargeRequest.safeParse(safeJson(rawBody));
    if (!parsed.success) return apiError(c, 400, "invalid_request", parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; "));
    const fingerprint = createHash("sha256").update(JSON.stringify(parsed.data)).digest("hex");
    const previous = state.idempotency[key];
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        return apiError(c, 409, "idempotency_conflict", "This Idempotency-Key was already used for a different charge.");
      }
      const charge = state.charges.find((candidate) => candidate.id === previous.chargeId);
      if (charge) return c.json(charge, 201);
    }
    // A declined charge is not remembered: once the account's payment method is fixed, the same key may succeed.
    if (fault === "decline") return apiError(c, 402, "card_declined", "The partner account's payment method was declined.");
    const charge = createCharge({ input: parsed.data, publicUrl });
    state.charges.push(charge);
    state.idempotency[key] = { fingerprint, chargeId: charge.id };
    stateFile.save(state);
    // The money has moved; only the answer is late.
    if (fault === "delay") await holdAnswer(delayMs);
    return c.json(charge, 201);
  });

  // `?accountId=`: the account's succeeded charges, newest first.
  // `?idempotencyKey=`: the charge made for that key (zero or one), to settle an unknown outcome.
  app.get("/v1/charges", (c) => {
    const idempotencyKey = c.req.query("idempotencyKey");
    if (idempotencyKey !== undefined) {
      const chargeId = state.idempotency[idempotencyKey]?.chargeId;
      const charge = state.charges.find((candidate) => candidate.id === chargeId);
      return c.json({ data: charge ? [charge] : [] });
    }
    const accountId = c.req.query("accountId");
    if (!accountId) return apiError(c, 400, "invalid_request", "The accountId or idempotencyKey query parameter is required.");
    return c.json({ data: chargesOf(state, accountId) });
  });

  app.get("/v1/charges/:id", (c) => {
    const charge = state.charges.find((candidate) => candidate.id === c.req.param("id"));
    return charge ? c.json(charge) : apiError(c, 404, "not_found", "No such charge.");
  });

  app.get("/receipts/:id", (c) => {
    const charge = state.charges.find((candidate) => candidate.id === c.req.param("id"));
    return charge ? c.html(renderReceiptPage(charge)) : c.html(renderPartnerNotFound(), 404);
  });

  app.get("/portal/:accountId", (c) => {
    const accountId = c.req.param("accountId");
    return c.html(renderPortalPage({ accountId, charges: chargesOf(state, accountId) }));
  });

  app.post("/_emulator/fault", async (c) => {
    const parsed = FaultRequest.safeParse(await c.req.json().catch(() => null));
    if (!parsed.success) {
      return apiError(c, 400, "invalid_request", 'mode must be "none", "decline", "error", "hang" or "delay" (with an optional delayMs).');
    }
    setFault(parsed.data.mode, { delayMs: parsed.data.delayMs });
    return c.json({ mode: parsed.data.mode, ...(parsed.data.mode === "delay" ? { delayMs } : {}) });
  });

  app.notFound((c) => apiError(c, 404, "not_found", "Unknown partner API route."));
  app.onError((error, c) => {
    console.warn("[partner-emulator] unexpected error", error);
    return apiError(c, 500, "internal_error", "The partner billing emulator failed unexpectedly.");
  });

  const server = await listen({ fetch: app.fetch, port: options.port });
  publicUrl = (options.publicUrl ?? server.url).replace(/\/$/, "");

  return {
    url: server.url,
    controlToken,
    async close() {
      hangGate.releaseAll();
      for (const release of [...held]) release();
      await server.close();
    },
    setFault,
    charges: () => structuredClone(state.charges),
  };
}

function createCharge({ input, publicUrl }: { input: z.infer<typeof ChargeRequest>; publicUrl: string }): PartnerCharge {
  const id = `pch_${randomBytes(12).toString("hex")}`;
  return {
    id,
    accountId: input.accountId,
    amount: input.amount,
    currency: input.currency.toLowerCase(),
    description: input.description,
    status: "succeeded",
    createdAt: new Date().toISOString(),
    receiptUrl: `${publicUrl}/receipts/${id}`,
  };
}

/** Succeeded charges of one account, newest first. */
function chargesOf(state: PartnerEmulatorState, accountId: string): PartnerCharge[] {
  return state.charges.filter((charge) => charge.accountId === accountId && charge.status === "succeeded").reverse();
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
