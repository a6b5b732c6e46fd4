const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;
const dayMs = 86_400_000;

/** Days in a month of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** A strict ISO 8601 calendar date `YYYY-MM-DD` that exists (2024-02-29 yes, 2023-02-29 no), or null. */
export function parseIsoDate(s: string): { year: number; month: number; day: number } | null {
  const m = isoDate.exec(s);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return { year, month, day };
}

/** Days since 1970-01-01 (UTC) of a valid ISO date, or null; for comparing dates. */
export function isoDateToDayNumber(s: string): number | null {
  const d = parseIsoDate(s);
  return d === null ? null : Date.UTC(d.year, d.month - 1, d.day) / dayMs;
}

/** Whole years from a birth date to `today` (UTC); NaN for an invalid date. */
export function ageInYears(dob: string, today: Date): number {
  const d = parseIsoDate(dob);
  if (d === null) return Number.NaN;
  let age = today.getUTCFullYear() - d.year;
  const beforeBirthday = today.getUTCMonth() + 1 < d.month || (today.getUTCMonth() + 1 === d.month && today.getUTCDate() < d.day);
  if (beforeBirthday) age--;
  return age;
}
