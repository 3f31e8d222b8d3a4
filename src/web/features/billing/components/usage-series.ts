/** Own / monthly / one-time: two neutral tones and the accent's near-black (design.md "Usage"). */
export const USAGE_SERIES = [
  { key: "website", label: "Websites' own", colour: "#d4d4d8" },
  { key: "groupMonthly", label: "Group monthly", colour: "#64748b" },
  { key: "groupOneTime", label: "Group one-time", colour: "#27272a" },
] as const;
