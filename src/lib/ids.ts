import { randomBytes } from 'node:crypto';

/**
 * A sortable, unguessable id: 48 bits of milliseconds then 80 random bits, Crockford base32 (26 chars),
 * as in ULID. Sortable so that receipts list in arrival order; random so that a receipt id leaks nothing.
 */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newId(prefix: string, at: Date): string {
  let time = at.getTime();
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = alphabet[time % 32]! + out;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(16);
  for (let i = 0; i < 16; i++) out += alphabet[random[i]! % 32];
  return `${prefix}_${out}`;
}
