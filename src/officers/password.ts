import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

/** Work factors: N = 2^15, r = 8 (OWASP's scrypt minimum is 2^17 with p=1 or 2^15 with more memory; tuned for a login, not a bulk path). */
const defaults = { N: 32_768, r: 8, p: 1 };

/** `scrypt$N$r$p$<salt b64>$<hash b64>`: self-describing, so work factors can be raised without breaking old hashes. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(password.normalize('NFKC'), salt, 32, { ...defaults, maxmem: 64 * 1024 * 1024 });
  return `scrypt$${defaults.N}$${defaults.r}$${defaults.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Constant-time check of a password against a stored hash; false for any malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored.trim());
  if (m === null) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = await scryptAsync(password.normalize('NFKC'), Buffer.from(m[4]!, 'base64'), expected.length, { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]), maxmem: 256 * 1024 * 1024 });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The demo officer's password (to type) and its hash (for the config), unless they exist. */
export async function writeDemoOfficer(dir: string): Promise<void> {
  const file = join(dir, 'demo-officer.password');
  if (existsSync(file)) return;
  const password = `demo-officer-${randomBytes(9).toString('base64url')}`;
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  writeFileSync(`${file}.scrypt`, `${await hashPassword(password)}\n`, { mode: 0o644 });
  writeFileSync(join(dir, 'demo-officer.api-key'), `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
}
