export { startStripeEmulator, STRIPE_EMULATOR_STATE_FILE } from "./stripe-emulator.js";
export type { StripeEmulator, StripeEmulatorOptions, StripeFaultMode, StripeRequestFault } from "./stripe-emulator.js";
export type { HistoricalInvoiceInput } from "./billing-engine.js";
export { signWebhookPayload } from "./webhook-sender.js";
