/**
 * Parses Stripe's form encoding (`metadata[groupId]=g1`, `line_items[0][quantity]=2`,
 * `expand[0]=customer`, `expand[]=customer`) into nested objects and arrays.
 */
export type FormValue = string | FormObject | FormValue[];
export interface FormObject {
  [key: string]: FormValue;
}

export function parseFormParams(encoded: string): FormObject {
  const root: FormObject = {};
  for (const [rawKey, value] of new URLSearchParams(encoded)) {
    assignPath({ root, path: splitKey(rawKey), value });
  }
  return normalizeArrays(root) as FormObject;
}

function splitKey(key: string): string[] {
  const first = key.split("[", 1)[0] ?? key;
  const rest = [...key.slice(first.length).matchAll(/\[([^\]]*)\]/g)].map((match) => match[1] ?? "");
  return [first, ...rest];
}

function assignPath({ root, path, value }: { root: FormObject; path: string[]; value: string }): void {
  let node: FormObject = root;
  path.forEach((segment, index) => {
    const isLast = index === path.length - 1;
    const key = segment === "" ? String(Object.keys(node).length) : segment;
    if (isLast) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next === "object" && !Array.isArray(next)) {
      node = next;
    } else {
      const created: FormObject = {};
      node[key] = created;
      node = created;
    }
  });
}

/** Objects whose keys are all 0..n-1 become arrays. */
function normalizeArrays(value: FormValue): FormValue {
  if (typeof value === "string" || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  const entries = keys.map((key) => [key, normalizeArrays(value[key] as FormValue)] as const);
  const isList = keys.length > 0 && keys.every((key, index) => key === String(index));
  if (isList) return entries.map(([, item]) => item);
  return Object.fromEntries(entries);
}

/** Typed readers for parsed params. */
export function readString(params: FormObject | undefined, key: string): string | undefined {
  const value = params?.[key];
  return typeof value === "string" ? value : undefined;
}

export function readObject(params: FormObject | undefined, key: string): FormObject | undefined {
  const value = params?.[key];
  return typeof value === "object" && !Array.isArray(value) ? value : undefined;
}

export function readList(params: FormObject | undefined, key: string): FormValue[] {
  const value = params?.[key];
  if (Array.isArray(value)) return value;
  if (typeof value === "string") return [value];
  return [];
}

export function readStringMap(params: FormObject | undefined, key: string): Record<string, string> {
  const value = readObject(params, key);
  if (!value) return {};
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}
