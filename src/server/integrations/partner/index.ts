export { createPartnerGateway } from "./partner-gateway.js";
export type {
  PartnerCharge,
  PartnerChargeFailure,
  PartnerChargeFailureCode,
  PartnerChargeResult,
  PartnerGateway,
  PartnerGatewayOptions,
  PartnerInvoice,
} from "./partner-gateway.js";
export { BillingUnavailableError } from "./partner-errors.js";
