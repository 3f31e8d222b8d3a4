import { lazy, Suspense, useEffect, useRef, useState, type ReactNode } from "react";
import { Download } from "lucide-react";
import type { UsageReport, UsageWebsite } from "../../../../contracts/insight.js";
import { Button } from "../../../components/ui/button.js";
import { Card } from "../../../components/ui/card.js";
import { NativeSelect } from "../../../components/ui/native-select.js";
import { Progress } from "../../../components/ui/progress.js";
import { Skeleton } from "../../../components/ui/skeleton.js";
import { cn } from "../../../lib/cn.js";
import { formatDate, formatMonth, formatNumber } from "../../../lib/format.js";
import { currentMonth, ledgerCsvUrl, USAGE_MONTH_PARAM, usageMonthOf, useUsage } from "../api/get-usage.js";
import { PoolCapDialog } from "./pool-cap-dialog.js";
import { USAGE_SERIES } from "./usage-series.js";
import { SM_UP, useMediaQuery } from "../../../lib/media-query.js";
import { useQueryParams } from "../../../lib/query-params.js";

// Chart.js (~60 KB gzipped) is fetched only when the section renders, not with the billing route.
const UsageChart = lazy(() => import("./usage-chart.js"));

const MONTHS_OFFERED = 12;
const TOP_WEBSITES = 5;
const CHART_HEIGHT = "h-64";
const CHART_MIN_HEIGHT = "min-h-64";

function recentMonths(count: number): string[] {
  const now = new Date();
  return Array.from({ length: count }, (_, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7));
}

const poolCredits = (w: UsageWebsite) => w.groupMonthly + w.groupOneTime;

/** One sentence about where the pool is heading at the last 7 days' rate. */
export function forecastSentence(forecast: UsageReport["forecast"], monthlyPeriodEnd: string | null, poolAvailable: number): string {
  // An empty pool has nothing to run out of (its forecast day is today).
  if (poolAvailable <= 0) return "The group’s pool is empty: websites can use only their own credits.";
  if (forecast.poolEmptyOn) {
    return `At the current rate the pool runs out around ${formatDate(`${forecast.poolEmptyOn}T00:00:00Z`).replace(/, \d{4}$/, "")}.`;
  }
  if (forecast.monthlyUnusedAtPeriodEnd > 0 && monthlyPeriodEnd) {
    return `About ${formatNumber(forecast.monthlyUnusedAtPeriodEnd)} monthly credits will expire unused on ${formatDate(monthlyPeriodEnd).replace(/, \d{4}$/, "")}.`;
  }
  return "At the current rate the pool lasts beyond the next 12 months.";
}

type UsageSectionProps = {
  groupId: string;
  /** End of the current monthly period (for the forecast sentence), if the group has monthly credits. */
  monthlyPeriodEnd: string | null;
  /** Group credits left now (monthly and one-time), for the forecast sentence. */
  poolAvailable: number;
  /** A website's logo, composed in by the app (features do not import each other). */
  renderWebsiteLogo: (website: { websiteId: string; name: string }) => ReactNode;
};

/**
 * Usage of a month: the daily stacked bar chart (own / monthly / one-time) with a table for
 * screen readers, the forecast sentence, the top websites by pool credits and the CSV export.
 * Its month is in the URL as `?usage=YYYY-MM` (the history keeps its own `?month=`).
 */
export function UsageSection({ groupId, monthlyPeriodEnd, poolAvailable, renderWebsiteLogo }: UsageSectionProps) {
  const [params, update] = useQueryParams();
  const months = recentMonths(MONTHS_OFFERED);
  const month = usageMonthOf(params);
  // A month from the address (a shared link) joins the list in its place, newest first.
  if (!months.includes(month)) {
    months.push(month);
    months.sort().reverse();
  }
  const usageQuery = useUsage({ groupId, month });
  const report = usageQuery.data;

  const setMonth = (value: string) => update({ [USAGE_MONTH_PARAM]: value === currentMonth() ? null : value });

  return (
    <section aria-labelledby="usage-title">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-x-4 gap-y-2">
        <h2 id="usage-title" className="text-base leading-6 font-semibold">
          Usage
        </h2>
        <div className="flex items-center gap-2">
          <NativeSelect aria-label="Usage month" className="w-44" value={month} onChange={(event) => setMonth(event.target.value)}>
            {months.map((value) => (
              <option key={value} value={value}>
                {formatMonth(value)}
              </option>
            ))}
          </NativeSelect>
          <Button variant="secondary" asChild>
            <a href={ledgerCsvUrl({ groupId, month })} download>
              <Download aria-hidden="true" />
              Download CSV
            </a>
          </Button>
        </div>
      </div>
      {usageQuery.isError ? (
        <Card className="p-5 text-sm text-muted-foreground sm:p-6">Usage could not be loaded right now. Your credits are not affected.</Card>
      ) : !report ? (
        <UsageSkeleton />
      ) : (
        <div className={cn("grid grid-cols-[minmax(0,1fr)] gap-4 transition-opacity lg:grid-cols-[minmax(0,1fr)_20rem]", usageQuery.isPlaceholderData && "opacity-60")} aria-busy={usageQuery.isFetching}>
          <DailyUsageCard report={report} monthlyPeriodEnd={monthlyPeriodEnd} poolAvailable={poolAvailable} />
          <TopWebsitesCard groupId={groupId} report={report} renderWebsiteLogo={renderWebsiteLogo} />
        </div>
      )}
    </section>
  );
}

function DailyUsageCard({ report, monthlyPeriodEnd, poolAvailable }: { report: UsageReport; monthlyPeriodEnd: string | null; poolAvailable: number }) {
  const totals = { website: 0, groupMonthly: 0, groupOneTime: 0 };
  for (const d of report.days) {
    totals.website += d.website;
    totals.groupMonthly += d.groupMonthly;
    totals.groupOneTime += d.groupOneTime;
  }
  const total = totals.website + totals.groupMonthly + totals.groupOneTime;
  // On a narrow screen the chart opens on its latest days (the end of its scroll). Only there:
  // scrolling lays the page out at once, ~30 ms of a page load's main thread.
  const scroller = useRef<HTMLDivElement>(null);
  const chartScrolls = !useMediaQuery(SM_UP);
  useEffect(() => {
    const el = scroller.current;
    if (el && chartScrolls) {
      el.scrollLeft = el.scrollWidth;
      el.style.setProperty("--chart-scroll", `${el.scrollLeft}px`);
    }
  }, [report.days.length, chartScrolls]);
  const monthName = formatMonth(report.month);
  const chartLabel = `Credits used per day in ${monthName}, stacked by source: ${formatNumber(totals.website)} websites' own, ${formatNumber(totals.groupMonthly)} group monthly, ${formatNumber(totals.groupOneTime)} group one-time. The table below lists each day.`;
  return (
    <Card className="flex min-w-0 flex-col p-5 sm:p-6">
      <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
        <h3 className="text-sm leading-5 font-medium text-muted-foreground">Credits used per day</h3>
        <p className="text-sm leading-5 text-muted-foreground">
          <span className="font-semibold text-foreground tabular-nums">{formatNumber(total)}</span> in {monthName}
        </p>
      </div>
      <p className="mt-1 text-sm leading-5 font-medium" data-testid="usage-forecast">
        {forecastSentence(report.forecast, monthlyPeriodEnd, poolAvailable)}
      </p>
      {/* Under 640 px the chart keeps a readable width and scrolls inside the card, never the page. */}
      {/* Beside a long Top websites list the chart grows to the card's height (the canvas sits in an
          absolute box, so it never props the card open itself). */}
      <div
        ref={scroller}
        className="-mx-1 mt-4 flex flex-1 flex-col overflow-x-auto px-1 pb-1"
        tabIndex={0}
        role="group"
        aria-label="Daily usage chart (scrolls sideways)"
        // The pinned credits axis (usage-chart.tsx) follows the scroll without a render.
        onScroll={(event) => event.currentTarget.style.setProperty("--chart-scroll", `${event.currentTarget.scrollLeft}px`)}
      >
        <div className={cn("relative min-w-[36rem] flex-1 sm:min-w-0", CHART_MIN_HEIGHT)}>
          <div className="absolute inset-0">
            {report.days.length === 0 ? (
              <p className="flex h-full items-center justify-center text-sm text-muted-foreground">No days of {monthName} have passed yet.</p>
            ) : (
              <Suspense fallback={<Skeleton className="h-full w-full" />}>
                <UsageChart days={report.days} label={chartLabel} pinAxis={chartScrolls} />
              </Suspense>
            )}
          </div>
        </div>
      </div>
      {/* The legend and the day axis, outside the scrolling chart so that they always show whole. */}
      {report.days.length > 0 && (
        <div className="mt-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-xs leading-4 text-muted-foreground">
          <ul className="flex flex-wrap gap-x-4 gap-y-1" aria-label="Chart legend">
            {USAGE_SERIES.map((s) => (
              <li key={s.key} className="flex items-center gap-1.5">
                <span aria-hidden="true" className="size-2.5 rounded-[2px]" style={{ backgroundColor: s.colour }} />
                {s.label}
              </li>
            ))}
          </ul>
          <span className="sm:ml-auto">Day of the month (UTC)</span>
        </div>
      )}
      {/* A table stretches past a 1 px box: the wrapper clips it so it never widens the page. */}
      <div className="sr-only">
      <table>
        <caption>Credits used per day in {monthName}, by source</caption>
        <thead>
          <tr>
            <th scope="col">Day</th>
            {USAGE_SERIES.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {report.days.map((d) => (
            <tr key={d.date}>
              <th scope="row">{formatDate(`${d.date}T00:00:00Z`)}</th>
              {USAGE_SERIES.map((s) => (
                <td key={s.key}>{formatNumber(d[s.key])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </Card>
  );
}

function TopWebsitesCard({ groupId, report, renderWebsiteLogo }: { groupId: string; report: UsageReport; renderWebsiteLogo: UsageSectionProps["renderWebsiteLogo"] }) {
  const poolTotal = report.websites.reduce((sum, w) => sum + poolCredits(w), 0);
  // The biggest pool users, and every capped website (a cap at 0 keeps its website out of the
  // top, and must stay in sight to be changed); "Show all" lists every website of the group, so
  // any of them can be capped before it draws on the pool.
  const [all, setAll] = useState(false);
  const top = report.websites.filter((w) => poolCredits(w) > 0).slice(0, TOP_WEBSITES);
  const shown = all ? report.websites : [...top, ...report.websites.filter((w) => w.poolCap !== null && !top.includes(w))];
  return (
    <Card className="min-w-0 p-5 sm:p-6" aria-labelledby="top-websites-title">
      <h3 id="top-websites-title" className="text-sm leading-5 font-medium text-muted-foreground">
        Top websites
      </h3>
      <p className="text-xs leading-4 text-muted-foreground">Group pool credits used in {formatMonth(report.month)}</p>
      {top.length === 0 ? <p className="mt-4 text-sm text-muted-foreground">No website used the group’s pool this month.</p> : null}
      {shown.length > 0 ? (
        // All of a large group's websites scroll inside the card, which keeps its place beside the chart.
        <ul className={cn("mt-4 flex flex-col gap-4", all && "max-h-96 overflow-y-auto pr-2")} tabIndex={all ? 0 : undefined} aria-label={all ? "All websites" : undefined}>
          {shown.map((w) => {
            const used = poolCredits(w);
            const share = poolTotal > 0 ? used / poolTotal : 0;
            return (
              <li key={w.websiteId} className="flex items-start gap-3">
                {renderWebsiteLogo({ websiteId: w.websiteId, name: w.name })}
                <div className="min-w-0 flex-1">
                  <div className="flex items-baseline justify-between gap-2">
                    <span className="truncate text-sm font-medium" title={w.name}>
                      {w.name}
                    </span>
                    <span className="shrink-0 text-sm tabular-nums">{formatNumber(used)}</span>
                  </div>
                  <Progress
                    className="mt-1.5 h-1.5"
                    value={used}
                    max={poolTotal}
                    label={`${w.name}: share of the pool`}
                    valueText={`${Math.round(share * 100)}% of the pool credits used`}
                    indicatorClassName="bg-meter"
                  />
                  <div className="mt-1 flex items-center justify-between gap-2">
                    <p className="text-xs leading-4 text-muted-foreground">
                      <span className="whitespace-nowrap">{Math.round(share * 100)}% of pool use</span>
                      {w.poolCap !== null ? (
                        <>
                          {" "}
                          <span className={cn("whitespace-nowrap", used >= w.poolCap && "font-medium text-orange-700")}>
                            · {formatNumber(used)} of {formatNumber(w.poolCap)} cap
                          </span>
                        </>
                      ) : null}
                    </p>
                    <PoolCapDialog groupId={groupId} website={w} />
                  </div>
                </div>
              </li>
            );
          })}
        </ul>
      ) : null}
      {all || report.websites.length > shown.length ? (
        <Button variant="ghost" size="sm" className="mt-3 h-7 px-1.5 text-xs" aria-expanded={all} onClick={() => setAll(!all)}>
          {all ? "Show top websites" : `Show all ${report.websites.length} websites`}
        </Button>
      ) : null}
    </Card>
  );
}

function UsageSkeleton() {
  return (
    <div className="grid grid-cols-[minmax(0,1fr)] gap-4 lg:grid-cols-[minmax(0,1fr)_20rem]" aria-hidden="true">
      <Card className="p-5 sm:p-6">
        <Skeleton className="h-5 w-40" />
        <Skeleton className="mt-1 h-5 w-72 max-w-full" />
        <Skeleton className={cn("mt-4 w-full", CHART_HEIGHT)} />
      </Card>
      <Card className="p-5 sm:p-6">
        <Skeleton className="h-5 w-28" />
        <Skeleton className="mt-4 h-40 w-full" />
      </Card>
    </div>
  );
}
