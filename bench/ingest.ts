/**
 * Ingest benchmark (not a test): `npm run bench:ingest -- --records N [--keep]`.
 *
 * Generates a realistic placement file of N records, encrypts and signs it with real gpg (the demo
 * creditor and gateway keys, GnuPG's defaults: ZLIB compression, SEIPDv1), then in the same run times
 *   (a) `gpg --decrypt` of it alone (the baseline), and
 *   (b) `veilgate ingest` of it (the built CLI, a fresh data dir),
 * and prints records/s, MiB/s of plaintext, the ratio to gpg and peak RSS (GNU time's %M).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encryptedPlacements } from './placement-file.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' }, keep: { type: 'boolean', default: false } } });
const records = Number(values.records);
const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'vg-bench-'));
const encrypted = join(work, `demo-bank_placement_bench_${records}.csv.gpg`);
console.log(`generating ${records.toLocaleString('en-US')} records ...`);
const { plainBytes, home } = await encryptedPlacements(work, records, 1, encrypted);
console.log(`plaintext ${(plainBytes / 1048576).toFixed(1)} MiB, encrypted ${(statSync(encrypted).size / 1048576).toFixed(1)} MiB`);

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { seconds: number; rssMiB: number; status: number | null; stderr: string } {
  const rssFile = join(work, 'rss');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rssKiB = Number(execFileSync('tail', ['-n1', rssFile]).toString().trim());
  return { seconds, rssMiB: rssKiB / 1024, status: r.status, stderr: r.stderr.toString() };
}

const base = timed('gpg', ['--homedir', home, '--batch', '--quiet', '--trust-model', 'always', '--decrypt', '--output', '/dev/null', encrypted]);
const dataDir = join(work, 'data');
// The entry itself (not `node entry`), so that its shebang's flags apply as they do for `npx veilgate`.
const gateway = timed(join(root, 'bin', 'veilgate.js'), ['ingest', '--source', 'demo-bank', '--kind', 'placement', '--data-dir', dataDir, encrypted]);
if (gateway.status !== 0) {
  console.error(gateway.stderr);
  throw new Error(`veilgate ingest exited ${gateway.status}`);
}

const mib = plainBytes / 1048576;
const row = (name: string, r: { seconds: number; rssMiB: number }) =>
  `${name.padEnd(18)} ${r.seconds.toFixed(2).padStart(7)} s  ${Math.round(records / r.seconds).toLocaleString('en-US').padStart(10)} records/s  ${(mib / r.seconds).toFixed(1).padStart(6)} MiB/s  peak RSS ${r.rssMiB.toFixed(0).padStart(4)} MiB`;
console.log(row('gpg --decrypt', base));
console.log(row('veilgate ingest', gateway));
console.log(`ratio veilgate/gpg time: ${(gateway.seconds / base.seconds).toFixed(2)}x`);
writeFileSync(join(work, 'result.json'), JSON.stringify({ records, plainBytes, gpg: base, veilgate: gateway }));
if (values.keep) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
