/** What may be logged about an error: its class and code, never its message (SQL, parameters, keys). */
export function describeFailure(err: unknown) {
  const e = err as { constructor?: { name?: string }; code?: unknown; cause?: unknown } | null;
  const cause = e?.cause as { constructor?: { name?: string }; code?: unknown } | undefined;
  const code = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v).slice(0, 32) : undefined);
  return {
    errClass: e?.constructor?.name ?? typeof err,
    code: code(e?.code),
    causeClass: cause?.constructor?.name,
    causeCode: code(cause?.code),
  };
}

/**
 * One log line per burst of failures: the first failure of a burst is written (class and code
 * only) and the rest are counted until `quietMs` pass without one; the next burst's line says how
 * many the previous one swallowed. A dropped database writes a handful of lines, not one per request.
 */
export function createFailureLog(message: string, quietMs = 10_000) {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (err: unknown, write: (fields: Record<string, unknown>, message: string) => void) => {
    const now = performance.now();
    const inBurst = now - lastAt < quietMs;
    lastAt = now;
    if (inBurst) {
      suppressed++;
      return;
    }
    write({ ...describeFailure(err), suppressedInPreviousBurst: suppressed }, message);
    suppressed = 0;
  };
}
