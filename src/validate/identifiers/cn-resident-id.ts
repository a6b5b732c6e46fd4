import { daysInMonth } from './iso-date.js';

// GB 11643-1999: weights 2^(17-i) mod 11, check character by ISO 7064 MOD 11-2.
const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const checkChars = '10X98765432';
const shape = /^\d{17}[\dXx]$/;

export function normaliseCnResidentId(s: string): string {
  return s.toUpperCase();
}

/**
 * A PRC resident identity card number (GB 11643-1999): 18 characters, 17 digits and a check character,
 * whose birth date (positions 7–14) is a real date from 1900 to `today`.
 */
export function isValidCnResidentId(s: string, today: Date = new Date()): boolean {
  if (!shape.test(s)) return false;
  const year = Number(s.slice(6, 10));
  const month = Number(s.slice(10, 12));
  const day = Number(s.slice(12, 14));
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return false;
  if (Date.UTC(year, month - 1, day) > today.getTime()) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += (s.charCodeAt(i) - 48) * weights[i]!;
  return checkChars[sum % 11] === s[17]!.toUpperCase();
}
