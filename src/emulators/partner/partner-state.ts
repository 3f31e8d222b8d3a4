/** What the partner (reseller) billing emulator remembers. */
export interface PartnerCharge {
  id: string;
  accountId: string;
  /** Integer minor units. */
  amount: number;
  currency: string;
  description: string;
  status: "succeeded";
  createdAt: string;
  receiptUrl: string;
}

export interface PartnerEmulatorState {
  version: 1;
  /** Oldest first. */
  charges: PartnerCharge[];
  /** Idempotency key -> the request it answered and the charge it made. */
  idempotency: Record<string, { fingerprint: string; chargeId: string }>;
}

export function emptyPartnerState(): PartnerEmulatorState {
  return { version: 1, charges: [], idempotency: {} };
}
