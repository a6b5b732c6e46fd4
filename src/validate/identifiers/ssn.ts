import { digitsAt } from './digits.js';
// US Social Security numbers: AAA-GG-SSSS. Since SSN randomization (SSA, 25 June 2011) the area no longer
// encodes a state, but SSA still never issues area 000, 666 or 900–999, group 00 or serial 0000.

/** A US SSN as its 9 digits (the dashes removed). */
export function normaliseSsn(s: string): string {
  return s.replaceAll('-', '');
}

/**
 * A US Social Security number: `123-45-6789` or `123456789` (dashes only in the 3-2-4 positions, and both or
 * neither), with an area SSA issues (not 000, 666 or 900–999), a group other than 00 and a serial other than 0000.
 */
export function isValidSsn(s: string): boolean {
  let groupAt: number;
  let serialAt: number;
  if (s.length === 9) {
    groupAt = 3;
    serialAt = 5;
  } else if (s.length === 11 && s.charCodeAt(3) === 45 && s.charCodeAt(6) === 45) { // 45 = '-'
    groupAt = 4;
    serialAt = 7;
  } else {
    return false;
  }
  const area = digitsAt(s, 0, 3);
  const group = digitsAt(s, groupAt, 2);
  const serial = digitsAt(s, serialAt, 4);
  return area > 0 && area !== 666 && area < 900 && group > 0 && serial > 0;
}
