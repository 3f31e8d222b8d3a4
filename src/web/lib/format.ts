/** Display-edge formatting. Credits are integers; money is integer minor units plus a currency. */
import type { Money } from "../../contracts/common.js";

const LOCALE = "en-US";

const integerFormat = new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 });

export function formatNumber(value: number): string {
  return integerFormat.format(value);
}

const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string): Intl.NumberFormat {
  const key = currency.toUpperCase();
  let format = moneyFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(LOCALE, { style: "currency", currency: key });
    moneyFormats.set(key, format);
  }
  return format;
}

/** Formats integer minor units: 1000 usd -> "$10.00", 1000 jpy -> "¥1,000". */
export function formatMoney({ amount, currency }: Money): string {
  const format = moneyFormat(currency);
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** digits);
}

const dateFormat = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" });

/** "2026-12-01T00:00:00Z" -> "Dec 1, 2026" (UTC, so every viewer sees the same date). */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateFormat.format(date);
}

const monthFormat = new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "long", timeZone: "UTC" });

/** "2026-11" -> "November 2026". */
export function formatMonth(yearMonth: string): string {
  const [year, month] = yearMonth.split("-").map(Number);
  if (!year || !month) return yearMonth;
  return monthFormat.format(new Date(Date.UTC(year, month - 1, 1)));
}

/** "1 website", "12 websites". */
export function pluralize(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatNumber(count)} ${count === 1 ? singular : plural}`;
}
