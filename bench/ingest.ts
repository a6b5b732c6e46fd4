/**
 * Ingest benchmark (not a test): `npm run bench:ingest -- --records N [--keep]`.
 *
 * Generates a realistic placement file of N records, encrypts and signs it with real gpg (the demo
 * creditor and gateway keys, GnuPG's defaults: ZLIB compression, SEIPDv1), then in the same run times
 *   (a) `gpg --decrypt` of it alone (the baseline), and
 *   (b) `veilgate ingest` of it (the built CLI, a fresh data dir),
 * and prints records/s, MiB/s of plaintext, the ratio to gpg and peak RSS (GNU time's %M), and the
 * CPU the ingest used (user + system, all threads): per record, and as cores kept busy. On a machine
 * whose cores are all busy, CPU per record is what bounds records/s, whatever the threads do. It also
 * splits the ingest's time into staging and commit, from its own "file committed" log line.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
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

interface Timed {
  seconds: number;
  rssMiB: number;
  /** User + system CPU seconds of the process and its threads. */
  cpuSeconds: number;
  status: number | null;
  stderr: string;
}

function timed(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const usageFile = join(work, 'usage');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', usageFile, command, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [rssKiB, user, system] = execFileSync('tail', ['-n1', usageFile]).toString().trim().split(' ').map(Number);
  return { seconds, rssMiB: rssKiB! / 1024, cpuSeconds: user! + system!, status: r.status, stderr: r.stderr.toString() };
}

const base = timed('gpg', ['--homedir', home, '--batch', '--quiet', '--trust-model', 'always', '--decrypt', '--output', '/dev/null', encrypted]);
const dataDir = join(work, 'data');
// The entry itself (not `node entry`), so that its shebang's flags apply as they do for `npx veilgate`.
const gateway = timed(join(root, 'bin', 'veilgate.js'), ['ingest', '--source', 'demo-bank', '--kind', 'placement', '--data-dir', dataDir, '--log-level', 'info', encrypted]);
if (gateway.status !== 0) {
  console.error(gateway.stderr);
  throw new Error(`veilgate ingest exited ${gateway.status}`);
}

const mib = plainBytes / 1048576;
const row = (name: string, r: Timed) =>
  `${name.padEnd(18)} ${r.seconds.toFixed(2).padStart(7)} s  ${Math.round(records / r.seconds).toLocaleString('en-US').padStart(10)} records/s  ${(mib / r.seconds).toFixed(1).padStart(6)} MiB/s  peak RSS ${r.rssMiB.toFixed(0).padStart(4)} MiB` +
  `  CPU ${r.cpuSeconds.toFixed(2).padStart(7)} s (${((r.cpuSeconds / records) * 1e6).toFixed(1)} µs/record, ${(r.cpuSeconds / r.seconds).toFixed(2)} of ${availableParallelism()} cores busy)`;
console.log(row('gpg --decrypt', base));
console.log(row('veilgate ingest', gateway));
console.log(`ratio veilgate/gpg time: ${(gateway.seconds / base.seconds).toFixed(2)}x`);
const committed = gateway.stderr.split('\n').find((line) => line.includes('"file committed"'));
if (committed !== undefined) {
  const { stagingMs, commitMs } = JSON.parse(committed) as { stagingMs: number; commitMs: number };
  console.log(`of which staging (decrypt, parse, prepare, seal, write) ${(stagingMs / 1000).toFixed(2)} s, commit ${(commitMs / 1000).toFixed(2)} s`);
}
writeFileSync(join(work, 'result.json'), JSON.stringify({ records, plainBytes, gpg: base, veilgate: gateway }));
if (values.keep) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
