/** The partner billing API could not be reached, timed out or failed. Map to `503 billing_unavailable`. */
export class BillingUnavailableError extends Error {
  readonly code = "billing_unavailable";

  constructor(message = "The partner billing service is not available right now.", options?: ErrorOptions) {
    super(message, options);
    this.name = "BillingUnavailableError";
  }
}
