const ssnShape = /^(\d{3})-?(\d{2})-?(\d{4})$/;

/** SSN as 9 digits. */
export function normaliseSsn(s: string): string {
  return s.replace(/-/g, '');
}

/**
 * A US Social Security number: 9 digits, dashes allowed only as 3-2-4. Never issued (SSA): area 000,
 * 666 or 900–999, group 00, serial 0000.
 */
export function isValidSsn(s: string): boolean {
  const m = ssnShape.exec(s);
  if (m === null) return false;
  if ((s.length === 10) || (s.length === 11 && (s[3] !== '-' || s[6] !== '-'))) return false;
  const area = Number(m[1]);
  return area !== 0 && area !== 666 && area < 900 && m[2] !== '00' && m[3] !== '0000';
}
