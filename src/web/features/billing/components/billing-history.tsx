import { ExternalLink } from "lucide-react";
import type { Invoice } from "../../../../contracts/billing.js";
import { Card } from "../../../components/ui/card.js";
import { NativeSelect } from "../../../components/ui/native-select.js";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "../../../components/ui/table.js";
import { cn } from "../../../lib/cn.js";
import { formatDate, formatMoney, formatMonth } from "../../../lib/format.js";
import { SM_UP, useMediaQuery } from "../../../lib/media-query.js";
import { useQueryParams } from "../../../lib/query-params.js";
import { INVOICES_MONTH_PARAM, invoicesMonthOf, useInvoices } from "../api/get-invoices.js";

const ALL_MONTHS = "all";

/** The history's month filter lives in the URL (`?month=YYYY-MM`), so a reload or a shared link keeps it. */
function useMonthParam() {
  const [searchParams, update] = useQueryParams();
  const month = invoicesMonthOf(searchParams);
  const setMonth = (next: string | null) => update({ [INVOICES_MONTH_PARAM]: next });
  return [month, setMonth] as const;
}

function InvoiceLink({ invoice, className }: { invoice: Invoice; className?: string }) {
  if (!invoice.hostedInvoiceUrl) return null;
  return (
    <a
      href={invoice.hostedInvoiceUrl}
      target="_blank"
      rel="noopener noreferrer"
      aria-label="View invoice"
      title={invoice.number ? `View invoice ${invoice.number}` : "View invoice"}
      className={cn(
        "inline-flex size-7 shrink-0 items-center justify-center rounded-md text-muted-foreground hover:bg-muted hover:text-foreground focus-visible:ring-2 focus-visible:ring-ring focus-visible:outline-none",
        className,
      )}
    >
      <ExternalLink className="size-4" aria-hidden="true" />
    </a>
  );
}

/**
 * Paid invoices of the group, newest first. Renders nothing while the first page loads, when the
 * group has no paid invoices at all (whatever month the address names), or when the billing service is unavailable.
 */
export function BillingHistory({ groupId }: { groupId: string }) {
  const [month, setMonth] = useMonthParam();
  const invoicesQuery = useInvoices({ groupId, month });
  const wide = useMediaQuery(SM_UP);
  const data = invoicesQuery.data;

  if (invoicesQuery.isError || !data) return null;
  // `months` names every month with a paid invoice, whatever the filter: none at all hides the section, also with `?month=`.
  if (data.months.length === 0) return null;

  const invoices = [...data.invoices].sort((a, b) => Date.parse(b.paidAt) - Date.parse(a.paidAt));
  const months = [...new Set(month ? [...data.months, month] : data.months)].sort().reverse();
  const empty = `No invoices in ${month ? formatMonth(month) : "this period"}.`;

  return (
    <section aria-labelledby="billing-history-title">
      <div className="mb-3 flex items-center justify-between gap-4">
        <h2 id="billing-history-title" className="text-base leading-6 font-semibold">
          Billing history
        </h2>
        <NativeSelect
          aria-label="Filter by month"
          className="w-44"
          value={month ?? ALL_MONTHS}
          onChange={(event) => setMonth(event.target.value === ALL_MONTHS ? null : event.target.value)}
        >
          <option value={ALL_MONTHS}>All months</option>
          {months.map((value) => (
            <option key={value} value={value}>
              {formatMonth(value)}
            </option>
          ))}
        </NativeSelect>
      </div>
      <Card className={cn("overflow-hidden transition-opacity", invoicesQuery.isPlaceholderData && "opacity-60")} aria-busy={invoicesQuery.isFetching}>
        {/* One layout at a time (the page lays out half the rows): a table from 640 px; under it two
            lines per invoice (date, amount and ↗; the description under them). */}
        {wide ? (
          <Table aria-labelledby="billing-history-title">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead>Date</TableHead>
                <TableHead>Description</TableHead>
                <TableHead className="text-right">Amount</TableHead>
                <TableHead className="w-14">
                  <span className="sr-only">Invoice</span>
                </TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {invoices.length === 0 ? (
                <TableRow className="hover:bg-transparent">
                  <TableCell colSpan={4} className="py-8 text-center text-muted-foreground">
                    {empty}
                  </TableCell>
                </TableRow>
              ) : (
                invoices.map((invoice) => (
                  <TableRow key={invoice.id}>
                    <TableCell className="whitespace-nowrap tabular-nums">{formatDate(invoice.paidAt)}</TableCell>
                    <TableCell>{invoice.description}</TableCell>
                    <TableCell className="text-right whitespace-nowrap tabular-nums">{formatMoney(invoice.total)}</TableCell>
                    <TableCell className="text-right">
                      <InvoiceLink invoice={invoice} />
                    </TableCell>
                  </TableRow>
                ))
              )}
            </TableBody>
          </Table>
        ) : (
          <ul className="divide-y" aria-label="Invoices">
            {invoices.length === 0 ? (
              <li className="px-4 py-8 text-center text-sm text-muted-foreground">{empty}</li>
            ) : (
              invoices.map((invoice) => (
                <li key={invoice.id} className="px-4 py-3">
                  <div className="flex items-center gap-3 text-sm leading-5">
                    <span className="flex-1 whitespace-nowrap text-muted-foreground tabular-nums">{formatDate(invoice.paidAt)}</span>
                    <span className="font-medium whitespace-nowrap tabular-nums">{formatMoney(invoice.total)}</span>
                    {/* The 28 px target overhangs the 20 px line instead of making the row taller. */}
                    <InvoiceLink invoice={invoice} className="-my-1 -mr-1.5" />
                  </div>
                  {/* Wrapped, never cut: a touch screen has no hover to show the rest. */}
                  <p className="mt-0.5 text-sm leading-5 text-pretty break-words">{invoice.description}</p>
                </li>
              ))
            )}
          </ul>
        )}
      </Card>
    </section>
  );
}
