/** Query keys of the billing feature; everything under `all(groupId)` belongs to one group's billing. */
export const billingKeys = {
  all: (groupId: string) => ["groups", groupId, "billing"] as const,
  summary: (groupId: string) => [...billingKeys.all(groupId), "summary"] as const,
  invoices: (groupId: string, month: string | null) => [...billingKeys.all(groupId), "invoices", { month }] as const,
  usage: (groupId: string, month: string) => [...billingKeys.all(groupId), "usage", { month }] as const,
  preview: (groupId: string, type: string, quantity: number) => [...billingKeys.all(groupId), "preview", { type, quantity }] as const,
  purchase: (groupId: string, purchaseId: string) => [...billingKeys.all(groupId), "purchases", purchaseId] as const,
  settings: (groupId: string) => [...billingKeys.all(groupId), "settings"] as const,
  alerts: (groupId: string) => [...billingKeys.all(groupId), "alerts"] as const,
};
