/**
 * Row types of raw SQL, derived from the Drizzle schema: `RowOf<typeof purchases.$inferSelect>`
 * has the table's snake_case column names with the schema's types, so a raw query and the schema
 * cannot drift apart silently.
 */
type Snake<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}` : S;

export type RowOf<T> = { [K in keyof T as Snake<K & string>]: T[K] };
