const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids in our addresses are UUIDs; anything else names nothing, so the page need not ask the server. */
export function isUuid(value: string | undefined): value is string {
  return value !== undefined && UUID.test(value);
}
