/** The demo organizations of api.md: realistic names so the page looks like a product. */

export const DEMO_PASSWORD = "demo-password";

const icon = (bg: string, fg: string, glyph: string) =>
  "data:image/svg+xml," +
  encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="${bg}"/>` +
      `<text x="16" y="21.5" text-anchor="middle" font-family="Arial,Helvetica,sans-serif" font-size="15" font-weight="700" fill="${fg}">${glyph}</text></svg>`,
  );

export interface DemoWebsite {
  name: string;
  url: string;
  iconUrl: string | null;
}

export const demoOrgs = [
  {
    name: "Demo Org",
    partnerManaged: false,
    groups: [
      {
        name: "Marketing Sites",
        billing: false,
        websites: [
          { name: "Brightwave Launch", url: "https://launch.brightwave.io", iconUrl: icon("#2563eb", "#fff", "B") },
          { name: "Northwind Blog", url: "https://blog.northwind.co", iconUrl: icon("#0f766e", "#fff", "N") },
          { name: "Summit Conference 2026", url: "https://summit2026.events", iconUrl: icon("#7c3aed", "#fff", "S") },
          { name: "Careers at Demo", url: "https://careers.demo-org.com", iconUrl: null },
          { name: "Product Tour", url: "https://tour.demo-org.com", iconUrl: "https://tour.demo-org.com/favicon-missing.ico" },
          { name: "Webinar Hub", url: "https://webinars.demo-org.com", iconUrl: icon("#ea580c", "#fff", "W") },
        ] satisfies DemoWebsite[],
      },
      {
        name: "Online Stores",
        billing: true,
        websites: [
          { name: "Fern & Oak Home", url: "https://fernandoak.shop", iconUrl: icon("#166534", "#fff", "F") },
          { name: "Copper Kettle Coffee", url: "https://copperkettle.coffee", iconUrl: icon("#b45309", "#fff", "C") },
          { name: "Lumen Lighting", url: "https://lumenlighting.store", iconUrl: icon("#facc15", "#1f2937", "L") },
          { name: "Trailhead Outfitters", url: "https://trailhead-outfitters.com", iconUrl: icon("#1d4ed8", "#fff", "T") },
          { name: "Paper Crane Stationery", url: "https://papercrane.store", iconUrl: icon("#db2777", "#fff", "P") },
          { name: "Velo Parts", url: "https://veloparts.bike", iconUrl: null },
          { name: "Saltwater Skincare", url: "https://saltwater.care", iconUrl: icon("#0891b2", "#fff", "S") },
          { name: "Mosaic Kids", url: "https://mosaickids.shop", iconUrl: icon("#9333ea", "#fff", "M") },
          { name: "Harbor Books", url: "https://harborbooks.store", iconUrl: icon("#334155", "#fff", "H") },
          { name: "Golden Hour Candles", url: "https://goldenhour.candles", iconUrl: icon("#ca8a04", "#fff", "G") },
          { name: "Atlas Maps", url: "https://atlasmaps.store", iconUrl: icon("#15803d", "#fff", "A") },
          { name: "Pixel Pet Supply", url: "https://pixelpet.supply", iconUrl: icon("#e11d48", "#fff", "P") },
          { name: "Quartz Watches", url: "https://quartz.watch", iconUrl: icon("#475569", "#fff", "Q") },
          { name: "Juniper Tea Co.", url: "https://junipertea.co", iconUrl: icon("#4d7c0f", "#fff", "J") },
        ] satisfies DemoWebsite[],
      },
    ],
    users: [
      { email: "org-admin@demo.test", name: "Olivia Admin", role: "org_admin" as const, groups: [] as string[] },
      { email: "group-admin@demo.test", name: "Gabriel Groupadmin", role: "group_admin" as const, groups: ["Marketing Sites"] },
      { email: "member@demo.test", name: "Mia Member", role: "member" as const, groups: [] as string[] },
    ],
  },
  {
    name: "Partner Org",
    partnerManaged: true,
    groups: [
      {
        name: "Agency Clients",
        billing: true,
        websites: [
          { name: "Riverside Dental", url: "https://riversidedental.care", iconUrl: icon("#0284c7", "#fff", "R") },
          { name: "Keystone Law", url: "https://keystonelaw.legal", iconUrl: icon("#1e293b", "#fff", "K") },
          { name: "Bloom Florist", url: "https://bloomflorist.shop", iconUrl: icon("#be185d", "#fff", "B") },
          { name: "Ironworks Gym", url: "https://ironworks.fit", iconUrl: null },
        ] satisfies DemoWebsite[],
      },
    ],
    users: [{ email: "partner-admin@demo.test", name: "Priya Partner", role: "org_admin" as const, groups: [] as string[] }],
  },
  {
    name: "Other Org",
    partnerManaged: false,
    groups: [
      {
        name: "Other Sites",
        billing: false,
        websites: [{ name: "Elsewhere Inc", url: "https://elsewhere.example", iconUrl: icon("#64748b", "#fff", "E") }] satisfies DemoWebsite[],
      },
    ],
    users: [{ email: "outsider@demo.test", name: "Oscar Outsider", role: "org_admin" as const, groups: [] as string[] }],
  },
];
