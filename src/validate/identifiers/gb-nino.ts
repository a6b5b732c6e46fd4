// UK National Insurance numbers, HMRC National Insurance Manual NIM39110: a two-letter prefix, six digits and
// a suffix A–D. D, F, I, Q, U and V are never used in the prefix, O never as its second letter, and the prefixes
// BG, GB, KN, NK, NT, TN and ZZ are not allocated (administrative or temporary use only).

/** 1 for a letter never used as the first / second prefix letter; indexed by letter code − 'A'. */
const unusedFirstLetter = new Uint8Array(26);
const unusedSecondLetter = new Uint8Array(26);
for (const letter of 'DFIQUV') {
  unusedFirstLetter[letter.charCodeAt(0) - 65] = 1;
  unusedSecondLetter[letter.charCodeAt(0) - 65] = 1;
}
unusedSecondLetter['O'.charCodeAt(0) - 65] = 1;

/** Unallocated prefixes, keyed by (first letter code · 256 + second letter code) so a lookup builds no string. */
const unallocatedPrefixes = new Set(
  ['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].map((prefix) => prefix.charCodeAt(0) * 256 + prefix.charCodeAt(1)),
);

/** Upper-cases an ASCII letter's char code; other codes pass through. */
function upperAscii(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

function isUpperLetter(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** A NINO in its stored form: spaces removed (it is often printed `AB 12 34 56 C`), letters upper-cased. */
export function normaliseGbNino(s: string): string {
  return s.replaceAll(' ', '').toUpperCase();
}

/**
 * A UK National Insurance number: two allocatable prefix letters, six digits, suffix A–D. Accepts spaces and
 * lower case, as {@link normaliseGbNino} would fix them. Builds no strings.
 */
export function isValidGbNino(s: string): boolean {
  let first = 0;
  let second = 0;
  let position = 0;
  for (let i = 0; i < s.length; i++) {
    const raw = s.charCodeAt(i);
    if (raw === 32) continue;
    const c = upperAscii(raw);
    if (position === 0) {
      if (!isUpperLetter(c) || unusedFirstLetter[c - 65] === 1) return false;
      first = c;
    } else if (position === 1) {
      if (!isUpperLetter(c) || unusedSecondLetter[c - 65] === 1) return false;
      second = c;
    } else if (position <= 7) {
      if (c < 48 || c > 57) return false;
    } else if (position === 8) {
      if (c < 65 || c > 68) return false; // suffix A–D
    } else {
      return false;
    }
    position++;
  }
  return position === 9 && !unallocatedPrefixes.has(first * 256 + second);
}
