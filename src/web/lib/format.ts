/**
 * Display-edge formatting. Credits are integers; money is integer minor units plus a currency.
 *
 * Everything is written as `Intl` writes it in en-US (dates in UTC; -0 is "0", where Intl writes
 * "-0"), but the common cases are built here: the first `Intl` formatter a page makes loads ICU's
 * data, 40-140 ms of the main thread in a fresh Chromium, which was a tenth of the billing page's
 * load. Anything else (a currency not in the table, a year before 1000) goes to `Intl`;
 * format.test.ts holds both paths to the same text.
 */
import type { Money } from "../../contracts/common.js";

const LOCALE = "en-US";

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/** A formatter made on its first use, so a page that never needs it never loads ICU. */
function lazily<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

const integerFormat = lazily(() => new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 }));
const dateFormat = lazily(() => new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }));
const monthFormat = lazily(() => new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "long", timeZone: "UTC" }));

/** "1234567" -> "1,234,567". */
const groupThousands = (digits: string) => digits.replace(/\B(?=(\d{3})+$)/g, ",");

export function formatNumber(value: number): string {
  if (!Number.isSafeInteger(value)) return integerFormat().format(value);
  return `${value < 0 ? "-" : ""}${groupThousands(String(Math.abs(value)))}`;
}

/** Currencies written here: en-US puts the symbol before the amount, with two decimals. */
const SYMBOLS: Record<string, string> = { USD: "$", EUR: "€", GBP: "£" };
const moneyFormats = new Map<string, Intl.NumberFormat>();

function moneyFormat(currency: string): Intl.NumberFormat {
  let format = moneyFormats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat(LOCALE, { style: "currency", currency });
    moneyFormats.set(currency, format);
  }
  return format;
}

/** Formats integer minor units: 1000 usd -> "$10.00", 1000 jpy -> "¥1,000". */
export function formatMoney({ amount, currency }: Money): string {
  const code = currency.toUpperCase();
  const symbol = SYMBOLS[code];
  if (symbol !== undefined && Number.isSafeInteger(amount)) {
    const cents = Math.abs(amount);
    return `${amount < 0 ? "-" : ""}${symbol}${groupThousands(String(Math.floor(cents / 100)))}.${String(cents % 100).padStart(2, "0")}`;
  }
  const format = moneyFormat(code);
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(amount / 10 ** digits);
}

/** Years written here; others (and their eras) are Intl's. */
const plainYear = (date: Date) => date.getUTCFullYear() >= 1000 && date.getUTCFullYear() <= 9999;

/** "2026-12-01T00:00:00Z" -> "Dec 1, 2026" (UTC, so every viewer sees the same date). */
export function formatDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  if (!plainYear(date)) return dateFormat().format(date);
  return `${MONTHS[date.getUTCMonth()]!.slice(0, 3)} ${date.getUTCDate()}, ${date.getUTCFullYear()}`;
}

/** "2026-11" -> "November 2026". */
export function formatMonth(yearMonth: string): string {
  const [year, month] = yearMonth.split("-").map(Number);
  if (!year || !month) return yearMonth;
  // setUTCFullYear, not Date.UTC: that one reads years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, 1);
  if (!plainYear(date)) return monthFormat().format(date);
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
}

/** "1 website", "12 websites". */
export function pluralize(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatNumber(count)} ${count === 1 ? singular : plural}`;
}

/** The most credits an amount the page sends may name (contracts: MAX_CREDITS, MAX_THRESHOLD; not imported, to keep zod out of the page's first load). */
export const MAX_CREDITS_INPUT = 1_000_000_000;

/**
 * A credits field as typed: null when empty, the whole number it names ("1000", "1,000", "1 000"),
 * or NaN for anything else ("1e3", "0x10", "1.5", "-1", "1,00"), where `Number()` would take some.
 */
export function parseCredits(text: string): number | null {
  const v = text.trim();
  if (v === "") return null;
  if (!/^\d{1,3}([, ]\d{3})*$/.test(v) && !/^\d+$/.test(v)) return NaN;
  return Number(v.replace(/[, ]/g, ""));
}

/** What is wrong with a credits field's value (parsed by `parseCredits`), or null when it is fine; empty is fine unless `required`. */
export function creditsError(value: number | null, required = true): string | null {
  if (value === null) return required ? "Enter a whole number of credits." : null;
  if (Number.isNaN(value)) return "Enter a whole number of credits.";
  if (value > MAX_CREDITS_INPUT) return `At most ${formatNumber(MAX_CREDITS_INPUT)} credits.`;
  return null;
}
