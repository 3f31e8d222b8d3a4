import type { StripeApiError } from "./emulator-state.js";
import { invalidParam } from "./emulator-state.js";
import { readList, readObject, readString, type FormObject } from "./form-params.js";

/** Converters from parsed form params to typed values, throwing Stripe-style 400s. */

export function readInteger(params: FormObject | undefined, key: string, param = key): number | undefined {
  const raw = readString(params, key);
  if (raw === undefined) return undefined;
  if (!/^-?\d+$/.test(raw)) throw invalidParam({ param, message: `Invalid integer: ${raw}` });
  return Number(raw);
}

export function readBoolean(params: FormObject | undefined, key: string, param = key): boolean | undefined {
  const raw = readString(params, key);
  if (raw === undefined) return undefined;
  if (raw !== "true" && raw !== "false") throw invalidParam({ param, message: `Invalid boolean: ${raw}` });
  return raw === "true";
}

export function requireString(params: FormObject | undefined, key: string, param = key): string {
  const value = readString(params, key);
  if (value === undefined || value === "") throw missingParam(param);
  return value;
}

export function missingParam(param: string): StripeApiError {
  return invalidParam({ param, message: `Missing required param: ${param}.` });
}

export function readExpand(params: FormObject): string[] {
  return readList(params, "expand").filter((item): item is string => typeof item === "string");
}

export function readObjects(params: FormObject, key: string): FormObject[] {
  return readList(params, key).filter(
    (item): item is FormObject => typeof item === "object" && !Array.isArray(item),
  );
}

export function readPagination(params: FormObject): { limit: number; startingAfter: string | undefined; endingBefore: string | undefined } {
  const limit = readInteger(params, "limit") ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalidParam({ param: "limit", message: "This value must be greater than or equal to 1 and less than or equal to 100." });
  }
  return { limit, startingAfter: readString(params, "starting_after"), endingBefore: readString(params, "ending_before") };
}

export { readObject, readString };
