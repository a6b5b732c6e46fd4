import { digitsAt } from './digits.js';
// Calendar dates in the proleptic Gregorian calendar (ISO 8601-1:2019 §4.2.1), as plain numbers.
// No Date objects are built while parsing: Date.UTC maps years 0–99 onto 1900–1999, and this runs per field.

/** A calendar date whose month (1–12) and day (1–31) are known to exist together. */
export interface IsoDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

// Index = month (1–12); February is corrected for leap years in daysInMonth.
const commonYearMonthDays = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const msPerDay = 86_400_000;

/** True for a Gregorian leap year: every 4th year, except centuries not divisible by 400 (so 2000 yes, 1900 no). */
export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1–12) of `year`; 0 for a month outside 1–12. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return commonYearMonthDays[month] ?? 0;
}

/** True when year/month/day name a day that exists (month 1–12, day within that month). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

/**
 * Days from 1970-01-01 to a calendar date (negative before it). Arithmetic only, so it is exact for
 * every year, including 0–99 (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil).
 */
export function calendarDateToDayNumber(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The UTC calendar day of an instant as a day number; NaN for an invalid Date. */
export function utcDayNumber(instant: Date): number {
  return Math.floor(instant.getTime() / msPerDay);
}

/**
 * Parses a strict ISO 8601 extended calendar date `YYYY-MM-DD` (RFC 3339 `full-date`) that exists:
 * `2024-02-29` yes, `2023-02-29` no. No time part, no sign, no whitespace.
 *
 * @returns the date, or `null` when the text is not such a date.
 */
export function parseIsoDate(s: string): IsoDate | null {
  if (s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return null; // 45 = '-'
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (year < 0 || !isCalendarDate(year, month, day)) return null;
  return { year, month, day };
}

/**
 * Days since 1970-01-01 of a strict ISO date, for ordering and differences without building a Date.
 *
 * @returns the day number, or `null` when `s` is not a valid `YYYY-MM-DD` date.
 */
export function isoDateToDayNumber(s: string): number | null {
  const d = parseIsoDate(s);
  return d === null ? null : calendarDateToDayNumber(d.year, d.month, d.day);
}

/**
 * Whole years of age on the UTC calendar day of `today`. A year is complete on the birthday itself;
 * someone born on 29 February completes it on 1 March in a common year.
 *
 * @param dob - date of birth, `YYYY-MM-DD`
 * @param today - the reference instant (pass the clock's `now()`)
 * @returns age in whole years (negative for a birth date after `today`), or NaN if `dob` is not a valid date
 *   or `today` is an invalid Date.
 */
export function ageInYears(dob: string, today: Date): number {
  const d = parseIsoDate(dob);
  if (d === null) return Number.NaN;
  const month = today.getUTCMonth() + 1;
  const beforeBirthday = month < d.month || (month === d.month && today.getUTCDate() < d.day);
  return today.getUTCFullYear() - d.year - (beforeBirthday ? 1 : 0);
}
