import { calendarDateToDayNumber, isCalendarDate, utcDayNumber } from './iso-date.js';
import { digitsAt } from './digits.js';

// PRC citizen identification number, GB 11643-1999: 6-digit address code, 8-digit birth date (YYYYMMDD),
// 3-digit sequence code, 1 check character computed with ISO 7064:1983 MOD 11-2. The weight of position i
// (1-based, from the left) is 2^(18−i) mod 11; the check character is indexed by the weighted sum mod 11.
const checkWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const checkCharCodes = [49, 48, 88, 57, 56, 55, 54, 53, 52, 51, 50] as const; // '1' '0' 'X' '9' '8' … '2'
// Product rule: the 18-digit form dates from 1999, so a birth year before 1900 is far likelier a keying error
// than a holder who was over 99 when it was issued.
const earliestBirthYear = 1900;

/** The canonical form of a resident ID: a lower-case check character `x` becomes `X`. */
export function normaliseCnResidentId(s: string): string {
  return s.toUpperCase();
}

/**
 * A PRC resident identity card number (GB 11643-1999): 18 characters, 17 digits and a MOD 11-2 check character
 * (`0`–`9` or `X`, lower-case `x` accepted), whose birth date (characters 7–14, `YYYYMMDD`) is a real calendar
 * date from 1900-01-01 up to and including the UTC calendar day of `today`.
 *
 * @param today - the reference instant for "not born in the future"; the pipeline passes its clock's `now()`.
 *   An invalid Date makes every number invalid.
 */
export function isValidCnResidentId(s: string, today: Date = new Date()): boolean {
  if (s.length !== 18) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    sum += d * checkWeights[i]!;
  }
  let check = s.charCodeAt(17);
  if (check === 120) check = 88; // 'x' → 'X'
  if (check !== checkCharCodes[sum % 11]) return false;

  const year = digitsAt(s, 6, 4);
  const month = digitsAt(s, 10, 2);
  const day = digitsAt(s, 12, 2);
  if (year < earliestBirthYear || !isCalendarDate(year, month, day)) return false;
  // A NaN day number (invalid `today`) fails this comparison, so the number is rejected rather than accepted.
  return calendarDateToDayNumber(year, month, day) <= utcDayNumber(today);
}
