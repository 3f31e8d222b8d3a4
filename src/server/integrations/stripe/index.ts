export { createStripeGateway, STRIPE_API_VERSION } from "./stripe-gateway.js";
export type {
  CheckoutMode,
  CheckoutSessionSummary,
  CreateCheckoutSessionInput,
  CustomerSummary,
  PaymentIntentSummary,
  RefundSummary,
  InvoiceDetails,
  PaidInvoice,
  StripeGateway,
  StripeEvent,
  StripeGatewayOptions,
  SubscriptionSummary,
} from "./stripe-gateway.js";
export { BillingUnavailableError, CardDeclinedError, StripeRequestError, WebhookSignatureError } from "./stripe-errors.js";
