/**
 * The one HTTP client of the page. It only speaks HTTP: it never shows toasts and never
 * redirects; callers (query caches, components) decide what an error means to the user.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** What the caller needs to act on the error, e.g. `hostedInvoiceUrl` of a past-due plan's 409. */
  readonly details: Record<string, unknown>;

  constructor({ status, code, message, details = {} }: { status: number; code: string; message: string; details?: Record<string, unknown> }) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

type RequestOptions = {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

function readErrorBody(body: unknown): { code: string; message: string; details?: Record<string, unknown> } | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const error = body.error;
  if (typeof error !== "object" || error === null) return null;
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== "string" || typeof message !== "string") return null;
  return { code, message, details: typeof details === "object" && details !== null ? (details as Record<string, unknown>) : undefined };
}

/** Fetches `path` and returns its JSON body, or throws an `ApiError`. */
export async function apiRequest(path: string, options: RequestOptions = {}): Promise<unknown> {
  const { method = "GET", body, headers = {}, signal } = options;
  const hasBody = body !== undefined;
  const isMutation = method !== "GET";

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(isMutation ? { "Content-Type": "application/json" } : {}),
        ...headers,
      },
      body: hasBody ? JSON.stringify(body) : isMutation ? "{}" : undefined,
      signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError({ status: 0, code: "network_error", message: "Could not reach the server. Check your connection." });
  }

  const text = await response.text();
  let json: unknown = null;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
  }

  if (!response.ok) {
    const error = readErrorBody(json);
    throw new ApiError({
      status: response.status,
      code: error?.code ?? "http_error",
      message: error?.message ?? `Request failed (${response.status})`,
      details: error?.details,
    });
  }
  return json;
}
