import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Seeded personal values: each is unusual enough that finding it anywhere (database, spool, logs,
 * acknowledgement) can only mean it leaked. Identifiers are valid, so the records are accepted.
 */
export const seeded = {
  first_name: 'Zebulonia',
  last_name: 'Quixotelli',
  national_id: '287-65-4321',
  card_number: '4556737586899855',
  iban: 'GB82WEST12345698765432',
  phone: '+14155550987',
  email: 'zebulonia.quixotelli@example.invalid',
  date_of_birth: '1961-07-23',
  diagnosis_code: 'J45.909',
  address_line1: '7713 Quasar Boulevard',
} as const;

/** The forms a value might leak in: as sent, and normalised (digits only). */
export function leakForms(values: Record<string, string> = seeded): string[] {
  const forms = new Set<string>();
  for (const v of Object.values(values)) {
    forms.add(v);
    const digits = v.replace(/\D/g, '');
    if (digits.length >= 8) forms.add(digits);
  }
  return [...forms];
}

/** Which seeded values appear in a text or buffer. */
export function findLeaks(haystack: string | Buffer, values: Record<string, string> = seeded): string[] {
  const text = typeof haystack === 'string' ? haystack : haystack.toString('latin1');
  const utf8 = typeof haystack === 'string' ? haystack : haystack.toString('utf8');
  return leakForms(values).filter((v) => text.includes(v) || utf8.includes(v));
}

/** Every file under a folder, recursively (database, WAL, spool, temp files). */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

export function leaksInTree(dir: string, values: Record<string, string> = seeded): Array<{ file: string; values: string[] }> {
  return filesUnder(dir)
    .map((file) => ({ file, values: findLeaks(readFileSync(file), values) }))
    .filter((f) => f.values.length > 0);
}
