/**
 * Applies Stripe's `expand[]` paths (e.g. `subscription`, `data.customer`, `latest_invoice`)
 * to a JSON copy of a response: an id string at the end of a path becomes the object it names.
 */
export type ResolveById = (id: string) => unknown;

export function applyExpand<T>({ value, paths, resolve }: { value: T; paths: string[]; resolve: ResolveById }): T {
  if (paths.length === 0) return value;
  const copy = structuredClone(value) as unknown;
  for (const path of paths) expandPath({ target: copy, segments: path.split("."), resolve });
  return copy as T;
}

function expandPath({ target, segments, resolve }: { target: unknown; segments: string[]; resolve: ResolveById }): void {
  if (Array.isArray(target)) {
    for (const item of target) expandPath({ target: item, segments, resolve });
    return;
  }
  if (typeof target !== "object" || target === null) return;
  const [head, ...rest] = segments;
  if (head === undefined) return;
  const record = target as Record<string, unknown>;
  const current = record[head];
  if (typeof current === "string") {
    const resolved = resolve(current);
    if (resolved === undefined) return;
    record[head] = structuredClone(resolved);
  }
  if (rest.length > 0) expandPath({ target: record[head], segments: rest, resolve });
}
