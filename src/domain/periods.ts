/** Calendar arithmetic for billing periods, always in UTC. */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, monthIndex: number): number {
  if (monthIndex === 1 && isLeapYear(year)) return 29;
  return DAYS_IN_MONTH[monthIndex] ?? 31;
}

function assertValidDate(date: Date): void {
  if (Number.isNaN(date.getTime())) throw new RangeError("invalid date");
}

/**
 * `date` moved by `n` calendar months in UTC, keeping the time of day; the day is clamped to the
 * end of the target month (Jan 31 + 1 month = Feb 28, or Feb 29 in a leap year).
 * Throws RangeError for an invalid date or a non-integer `n`.
 */
export function addMonths(date: Date, n: number): Date {
  assertValidDate(date);
  if (!Number.isSafeInteger(n)) throw new RangeError(`months must be an integer, got ${n}`);
  const months = date.getUTCFullYear() * 12 + date.getUTCMonth() + n;
  const year = Math.floor(months / 12);
  const monthIndex = months - year * 12;
  const result = new Date(date.getTime());
  // Day 1 first, so setting year and month never overflows into the next month.
  result.setUTCDate(1);
  result.setUTCFullYear(year, monthIndex, Math.min(date.getUTCDate(), daysInMonth(year, monthIndex)));
  return result;
}

/** The UTC calendar month of `date` as "YYYY-MM". Throws RangeError for an invalid date. */
export function monthKey(date: Date): string {
  assertValidDate(date);
  const year = String(date.getUTCFullYear()).padStart(4, "0");
  const month = String(date.getUTCMonth() + 1).padStart(2, "0");
  return `${year}-${month}`;
}
