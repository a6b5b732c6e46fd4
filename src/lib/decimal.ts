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

/**
 * Normalises a money string that already matched the schema's pattern to exactly two places
 * (`"7"` → `"7.00"`, `"7.5"` → `"7.50"`), by text alone: it runs for every amount of every record.
 */
export function padMoney(text: string): string {
  const dot = text.indexOf('.');
  if (dot === -1) return `${text}.00`;
  return text.length - dot === 2 ? `${text}0` : text;
}

/**
 * A running sum of amounts in minor units. Plain numbers while the total is exactly representable
 * (below 2^53 cents, about 90 trillion), BigInt beyond: exact either way, and fast for real files.
 */
export class MoneySum {
  #small = 0;
  #big = 0n;

  /** Adds a money string; false (and nothing added) when it is not one. */
  add(text: string): boolean {
    const m = moneyPattern.exec(text);
    if (m === null) return false;
    const [, sign, whole, frac = ''] = m;
    const minor = Number(whole) * 100 + Number(frac.padEnd(2, '0'));
    this.#small += sign === '-' ? -minor : minor;
    if (!Number.isSafeInteger(this.#small) || Math.abs(this.#small) > 2 ** 52) {
      this.#big += BigInt(this.#small);
      this.#small = 0;
    }
    return true;
  }

  /** Adds a sum counted elsewhere (another thread's), in minor units. */
  addMinorUnits(minor: bigint): void {
    this.#big += minor;
  }

  get minorUnits(): bigint {
    return this.#big + BigInt(this.#small);
  }
}
