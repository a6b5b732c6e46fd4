/**
 * Exact money arithmetic on decimal strings. Amounts never pass through a float: they are parsed
 * into integer minor units (BigInt) at scale 2 and printed back with exactly two places.
 */

const moneyPattern = /^(-?)(\d{1,15})(?:\.(\d{1,2}))?$/;

/** Parses `"123.4"`/`"123.45"`/`"-7"` into minor units (cents); null if not a decimal with at most 2 places. */
export function parseMinorUnits(text: string): bigint | null {
  const m = moneyPattern.exec(text);
  if (m === null) return null;
  const [, sign, whole, frac = ''] = m;
  const minor = BigInt(whole!) * 100n + BigInt(frac.padEnd(2, '0'));
  return sign === '-' ? -minor : minor;
}

/** Formats minor units as a decimal string with exactly two places: `12345n` → `"123.45"`. */
export function formatMinorUnits(minor: bigint): string {
  const negative = minor < 0n;
  const abs = negative ? -minor : minor;
  const whole = abs / 100n;
  const frac = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${whole}.${frac}`;
}

/** Normalises a money string to two places, or null when it is not one. */
export function normaliseMoney(text: string): string | null {
  const minor = parseMinorUnits(text);
  return minor === null ? null : formatMinorUnits(minor);
}
