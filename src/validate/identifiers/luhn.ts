/** Luhn mod-10 (ISO/IEC 7812-1 annex B) over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

const separators = /[ -]/g;
const cardDigits = /^\d{12,19}$/;

/** Card number with spaces or dashes removed. */
export function normaliseCardNumber(s: string): string {
  return s.replace(separators, '');
}

/** A payment card PAN: 12 to 19 digits (ISO/IEC 7812), Luhn-valid. Spaces and dashes are allowed. */
export function isValidCardNumber(s: string): boolean {
  const digits = normaliseCardNumber(s);
  return cardDigits.test(digits) && luhnValid(digits);
}
