// Payment card numbers (PANs): ISO/IEC 7812-1:2017 §5 (at most 19 digits) and its Annex B check digit,
// the Luhn mod-10 formula. We require at least 12 digits (FORMATS.md): shorter PANs are not issued to
// consumers, and a 12-digit floor keeps short account references from passing as card numbers.
const minCardDigits = 12;
const maxCardDigits = 19;
const cardSeparators = /[ -]/g;

/** Luhn digit value: `d` doubled, minus 9 when that exceeds 9. Index = d. */
const doubled = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9] as const;

/**
 * The Luhn mod-10 check (ISO/IEC 7812-1 Annex B) over a string of ASCII digits; the last digit is the check digit.
 *
 * @returns false for an empty string or any character that is not 0–9.
 */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    sum += double ? doubled[d]! : d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/**
 * A payment card number: 12 to 19 digits once spaces and dashes are removed, with a valid Luhn check digit.
 * Scans the input once and builds no intermediate string.
 */
export function isValidCardNumber(s: string): boolean {
  let sum = 0;
  let count = 0;
  for (let i = s.length - 1; i >= 0; i--) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 45) continue; // ' ' and '-', as printed on cards and receipts
    const d = c - 48;
    if (d < 0 || d > 9 || count === maxCardDigits) return false;
    sum += count % 2 === 1 ? doubled[d]! : d;
    count++;
  }
  return count >= minCardDigits && sum % 10 === 0;
}

/** A card number with its spaces and dashes removed; for a valid card number, digits only. */
export function normaliseCardNumber(s: string): string {
  return s.replace(cardSeparators, '');
}
