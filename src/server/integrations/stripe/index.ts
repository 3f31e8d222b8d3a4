export { createStripeGateway, STRIPE_API_VERSION } from "./stripe-gateway.js";
export type {
  CheckoutMode,
  CheckoutSessionSummary,
  CreateCheckoutSessionInput,
  InvoiceDetails,
  PaidInvoice,
  StripeGateway,
  StripeEvent,
  StripeGatewayOptions,
  SubscriptionSummary,
} from "./stripe-gateway.js";
export { BillingUnavailableError, StripeRequestError, WebhookSignatureError } from "./stripe-errors.js";
