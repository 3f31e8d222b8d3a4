import type { UsageResult } from "../../../contracts/usage.js";
import type { creditGrants } from "../../db/schema.js";

/** A website of a debit's events, as the debit reads it. */
export interface WebsiteRow {
  id: string;
  org_id: string;
  group_id: string | null;
  billing: boolean;
}

/** An event seen before under the same key (a replay). */
export interface SeenRow {
  id: string;
  org_id: string;
  idempotency_key: string;
  website_id: string;
  credits: number | string;
  /** The first answer's balance and parts (event-answer.ts); rows written before 0015 have `response` instead. */
  answer: (number | string)[] | null;
  response: UsageResult | null;
}

/** A website's cap on pool credits, with its use in the current month. */
export interface CapRow {
  website_id: string;
  monthly_credits: number | string;
  used: number | string;
}

/** A grant with credits left, as json_agg returns it (timestamps as strings). */
export type GrantJson = Pick<typeof creditGrants.$inferSelect, "id" | "kind" | "remaining"> & {
  website_id: string | null;
  group_id: string | null;
  expires_at: string | null;
  created_at: string;
};

/**
 * What a debit is planned against: the first statement's answer (`readSql` in debit-usage.ts) or,
 * without that round trip, a lane's `DebitCache`. The write statement checks every part of it that
 * the plan relied on (decision 0002).
 */
export interface DebitState {
  sites: WebsiteRow[];
  seen: SeenRow[];
  grants: GrantJson[];
  caps: CapRow[];
  /** Pools (group ids) that have low-balance or top-up controls. */
  controlled: string[];
  /** API key ids still valid. */
  keys: string[];
}

/** The owners whose grants a debit of these websites may draw on: each website, and the pool of those with group billing. */
export function ownersOf(sites: readonly WebsiteRow[]): { websites: string[]; pools: string[] } {
  const pools = new Set<string>();
  for (const s of sites) if (s.billing && s.group_id) pools.add(s.group_id);
  return { websites: sites.map((s) => s.id), pools: [...pools] };
}

/**
 * One lane's memory of what its debits last read and wrote (issue 15), so that a batch of
 * websites it has seen is planned without the read's round trip. It is only a guess: the write
 * statement checks each thing the plan relied on (the websites' groups and billing, which grants
 * have credits left and that none has more than remembered, their expiry, the caps, the pools'
 * controls, the keys) and fails whole (40001) if any changed; the lane then reads again. After
 * each write the debited grants and caps take the values the write returned, which include other
 * processes' debits. It forgets everything after `maxAgeMs`, so an answer's balance is at most
 * that old for grants this lane did not touch.
 */
export class DebitCache {
  private sites = new Map<string, WebsiteRow>();
  /** Grants with credits left, by id, and their ids by owner (a website id or a pool's group id). */
  private grants = new Map<number, GrantJson>();
  private byOwner = new Map<string, Set<number>>();
  /** A website's cap in its current group, null when it has none. */
  private caps = new Map<string, CapRow | null>();
  private controlled = new Map<string, boolean>();
  private month = "";
  private since = 0;

  constructor(
    private readonly maxAgeMs = 1000,
    private readonly maxSites = 10_000,
  ) {}

  clear() {
    this.sites.clear();
    this.grants.clear();
    this.byOwner.clear();
    this.caps.clear();
    this.controlled.clear();
    this.month = "";
  }

  /** The state to plan a batch of these websites against, or null when some of it is not known, or too old. */
  state(websiteIds: readonly string[], keyIds: readonly string[], month: string): DebitState | null {
    if (this.month !== month || Date.now() - this.since > this.maxAgeMs) return null;
    const sites: WebsiteRow[] = [];
    for (const id of websiteIds) {
      const s = this.sites.get(id);
      if (!s) return null;
      sites.push(s);
    }
    const { websites, pools } = ownersOf(sites);
    const grants: GrantJson[] = [];
    for (const owner of [...websites, ...pools]) for (const id of this.byOwner.get(owner) ?? []) grants.push({ ...this.grants.get(id)! });
    grants.sort((a, b) => Number(a.id) - Number(b.id));
    const caps = sites.flatMap((s) => {
      const c = this.caps.get(s.id);
      return c ? [{ ...c }] : [];
    });
    return { sites, seen: [], grants, caps, controlled: pools.filter((p) => this.controlled.get(p)), keys: [...keyIds] };
  }

  /** Remember what a read found for its websites (replacing what was known of them and their pools). */
  absorbRead(read: DebitState, month: string) {
    if (this.month !== month || Date.now() - this.since > this.maxAgeMs || this.sites.size > this.maxSites) {
      this.clear();
      this.month = month;
      this.since = Date.now();
    }
    const { websites, pools } = ownersOf(read.sites);
    for (const owner of [...websites, ...pools]) {
      for (const id of this.byOwner.get(owner) ?? []) this.grants.delete(id);
      this.byOwner.set(owner, new Set());
    }
    for (const g of read.grants) {
      const owner = g.website_id ?? g.group_id;
      const ids = owner === null ? undefined : this.byOwner.get(owner);
      if (!ids) continue; // a deleted website's grant: its events are refused
      ids.add(Number(g.id));
      this.grants.set(Number(g.id), { ...g });
    }
    const capOf = new Map(read.caps.map((c) => [c.website_id, c]));
    for (const s of read.sites) {
      this.sites.set(s.id, s);
      this.caps.set(s.id, capOf.get(s.id) ?? null);
    }
    for (const p of pools) this.controlled.set(p, read.controlled.includes(p));
  }

  /** Plans remembered (absorbPlanned), so that only the latest plan's write is taken as it returns. */
  private plans = 0;

  /**
   * Take a plan's debits as if written, before its write is sent: the lane's next batch, planned while
   * this one is still in flight (usage-processor.ts `depth`), is planned after it. Returns the plan's
   * number, for absorbWrite.
   */
  absorbPlanned(grants: readonly [number, number][], caps: readonly [string, number][]) {
    this.take(grants, caps);
    return ++this.plans;
  }

  /**
   * Take what a write returned: each debited grant's credits left and each drawn cap's use, after it
   * (other processes' debits included). Not when a later plan of the lane is remembered (`plan`, from
   * absorbPlanned, is not the latest): that one already counts this write's debits and its own.
   */
  absorbWrite(grants: readonly [number, number][], caps: readonly [string, number][], plan?: number) {
    if (plan === undefined || plan === this.plans) this.take(grants, caps);
  }

  private take(grants: readonly [number, number][], caps: readonly [string, number][]) {
    for (const [id, remaining] of grants) {
      const g = this.grants.get(Number(id));
      if (!g) continue;
      if (remaining > 0) g.remaining = remaining;
      else {
        this.grants.delete(Number(id));
        this.byOwner.get((g.website_id ?? g.group_id)!)?.delete(Number(id));
      }
    }
    for (const [websiteId, used] of caps) {
      const c = this.caps.get(websiteId);
      if (c) c.used = used;
    }
  }
}
