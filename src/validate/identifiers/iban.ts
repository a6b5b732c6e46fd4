// IBAN: ISO 13616-1:2020. Country code, 2 check digits, then a BBAN whose length is fixed per country.
// Lengths: SWIFT IBAN Registry, release 102 (June 2026), all 89 IBAN prefixes. Territories that the registry
// lists under another country's entry use that country's prefix (e.g. Jersey's IBANs start with GB), so
// they need no row of their own. Update this table when SWIFT publishes a release that adds a country.
const ibanLengthByCountry: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28, CH: 21,
  CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FK: 18, FO: 18,
  FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23,
  IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27,
  MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28,
  PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27,
  SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

// The same table indexed by (first letter − 'A') · 26 + (second letter − 'A'), so the hot path looks a
// country up from two char codes without building a string; 0 = no IBAN for that code.
const ibanLengthByLetterPair = new Uint8Array(26 * 26);
for (const [country, length] of Object.entries(ibanLengthByCountry)) {
  ibanLengthByLetterPair[(country.charCodeAt(0) - 65) * 26 + (country.charCodeAt(1) - 65)] = length;
}

/** Upper-cases an ASCII letter's char code; other codes pass through. */
function upperAscii(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

/**
 * An IBAN in electronic form: spaces removed (the printed form groups by four), letters upper-cased.
 * Nothing else is changed, so an invalid IBAN stays invalid.
 */
export function normaliseIban(s: string): string {
  return s.replaceAll(' ', '').toUpperCase();
}

/**
 * An IBAN (ISO 13616-1): a country code that has IBANs, 2 check digits from 02 to 98, then an alphanumeric BBAN,
 * exactly as long as the SWIFT registry says for that country, with the ISO 7064 MOD 97-10 remainder equal to 1.
 * Accepts the printed form (spaces, lower case), as {@link normaliseIban} would fix it. Builds no strings.
 */
export function isValidIban(s: string): boolean {
  // First pass: the 4 leading characters (needed last by MOD 97-10) and the length without spaces.
  let c0 = 0;
  let c1 = 0;
  let c2 = 0;
  let c3 = 0;
  let length = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) continue;
    if (length === 0) c0 = upperAscii(c);
    else if (length === 1) c1 = upperAscii(c);
    else if (length === 2) c2 = c;
    else if (length === 3) c3 = c;
    length++;
  }
  if (c0 < 65 || c0 > 90 || c1 < 65 || c1 > 90) return false;
  if (ibanLengthByLetterPair[(c0 - 65) * 26 + (c1 - 65)] !== length) return false;
  const checkDigits = (c2 - 48) * 10 + (c3 - 48);
  // ISO 7064 MOD 97-10 check digits are 98 − (n mod 97), so 02–98 (ISO 13616-1). 00, 01 and 99 never occur,
  // yet would pass the remainder test for some BBANs (01 ≡ 98 and 99 ≡ 02 mod 97): reject them explicitly.
  if (c2 < 48 || c2 > 57 || c3 < 48 || c3 > 57 || checkDigits < 2 || checkDigits > 98) return false;

  // Second pass, as ISO 13616-1 specifies: move the first 4 characters to the end, read letters as 10–35, and take
  // the number mod 97. Folding one character at a time keeps the remainder below 9,700: no BigInt needed.
  let remainder = 0;
  let position = 0;
  for (let i = 0; i < s.length; i++) {
    const c = upperAscii(s.charCodeAt(i));
    if (c === 32) continue;
    if (position++ < 4) continue;
    if (c >= 48 && c <= 57) remainder = (remainder * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) remainder = (remainder * 100 + (c - 55)) % 97;
    else return false; // the BBAN is alphanumeric
  }
  remainder = (remainder * 100 + (c0 - 55)) % 97;
  remainder = (remainder * 100 + (c1 - 55)) % 97;
  remainder = (remainder * 100 + checkDigits) % 97;
  return remainder === 1;
}
