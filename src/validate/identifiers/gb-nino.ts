// HMRC NIM39110: neither prefix letter is D, F, I, Q, U or V; the second is not O; some prefixes are never used.
const shape = /^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/;
const unusedPrefixes = new Set(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ']);

export function normaliseGbNino(s: string): string {
  return s.replace(/\s+/g, '').toUpperCase();
}

/** A UK National Insurance number: two prefix letters, six digits, suffix A–D. */
export function isValidGbNino(s: string): boolean {
  const nino = normaliseGbNino(s);
  return shape.test(nino) && !unusedPrefixes.has(nino.slice(0, 2));
}
