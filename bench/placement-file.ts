/** For the benchmarks: a demo placement file, encrypted and signed with real gpg as a creditor would. */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { placementCsv } from '../src/demo/sample-placements.js';

const keys = join(import.meta.dirname, '..', 'keys-example');

/**
 * Writes `records` generated placements (with a trailer) under `work`, encrypts them to the gateway
 * key signed by demo-bank with a throwaway GnuPG home, removes the plaintext, and returns the sizes.
 * `gpg` runs other gpg commands in that home (the baselines).
 */
export async function encryptedPlacements(work: string, records: number, seed: number, output: string): Promise<{ plainBytes: number; gpg: (args: string[]) => void; home: string }> {
  const home = join(work, 'gnupg');
  execFileSync('mkdir', ['-m', '700', home]);
  const gpg = (args: string[]) => void execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--quiet', '--trust-model', 'always', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  gpg(['--import', ...readdirSync(keys).filter((f) => f.endsWith('.pgp.asc')).map((f) => join(keys, f))]);
  const csv = join(work, 'placements.csv');
  const out = createWriteStream(csv);
  for (const chunk of placementCsv(records, { seed, trailer: true })) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  const plainBytes = statSync(csv).size;
  gpg(['--output', output, '--sign', '--local-user', 'demo-bank@example.invalid', '--recipient', 'gateway@veilgate.invalid', '--encrypt', csv]);
  rmSync(csv);
  return { plainBytes, gpg, home };
}
