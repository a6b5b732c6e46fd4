/**
 * Audit log benchmark (not a test): `npm run bench:audit -- [--entries N] [--writers W]`.
 *
 * In one run, on a fresh data dir:
 *   (a) appends N release-like entries through the store from W concurrent writers (group commit),
 *       with a checkpoint signed every second, and gives entries/s; baseline: the same rows inserted
 *       into a plain table in the same batches, without the hash chain;
 *   (b) exports the log (`veilgate audit export`) and verifies the export offline
 *       (`veilgate audit verify FILE --key`, a separate process with the public key only); baseline:
 *       `sha256sum` of the same file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { startCheckpointer } from '../src/audit/checkpointer.js';
import { loadConfig } from '../src/config/load.js';
import { buildDeps } from '../src/deps.js';
import { systemClock } from '../src/lib/clock.js';
import { createLogger } from '../src/lib/log.js';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '200000' }, writers: { type: 'string', default: '32' }, keep: { type: 'boolean', default: false } } });
const total = Number(values.entries);
const writers = Number(values.writers);
const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'vg-bench-audit-'));
const dataDir = join(work, 'data');

const draft = (i: number) => ({
  actor: 'recipient:demo-collector', action: 'release.account', target: `v1.acct${String(i).padStart(18, '0')}`,
  details: {
    purpose: 'collection-contact', route: 'GET /v1/accounts/:token', policy_version: 'p1.1d3bf708c9f81d47',
    items: [{ account: `v1.acct${String(i).padStart(18, '0')}`, subject: `v1.subj${String(i % 50_000).padStart(18, '0')}`, consent_version: i % 7, released: ['balance', 'currency', 'first_name', 'phone', 'date_of_birth'], withheld: { email: 'consent_not_granted' } }],
  },
});

// (a) appends through the store, checkpoints on
const { config } = loadConfig({ dataDir, env: {} });
const deps = await buildDeps(config, { clock: systemClock, log: createLogger({ level: 'warn' }) });
const checkpointer = startCheckpointer(deps, 1);
let next = 0;
const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: writers }, async () => {
  while (next < total) {
    const i = next++;
    await deps.store.appendAudit([draft(i)]);
  }
}));
const appendSeconds = Number(process.hrtime.bigint() - started) / 1e9;
await checkpointer.stop();
const checkpoints = (await deps.store.listCheckpoints(1, Number.MAX_SAFE_INTEGER)).length;
await deps.store.close();

// Baseline: the same rows, no chain, in batches of the same size the group commit reached on average.
const plain = new Database(join(work, 'plain.db'));
plain.pragma('journal_mode = WAL');
plain.pragma('synchronous = NORMAL');
plain.exec('CREATE TABLE log (seq INTEGER PRIMARY KEY, at TEXT, actor TEXT, action TEXT, target TEXT, details TEXT)');
const insert = plain.prepare('INSERT INTO log (seq, at, actor, action, target, details) VALUES (?, ?, ?, ?, ?, ?)');
const batch = Math.max(1, writers);
const plainStarted = process.hrtime.bigint();
for (let i = 0; i < total; i += batch) {
  plain.transaction(() => {
    for (let j = i; j < Math.min(total, i + batch); j++) {
      const d = draft(j);
      insert.run(j + 1, new Date().toISOString(), d.actor, d.action, d.target, JSON.stringify(d.details));
    }
  }).immediate();
}
const plainSeconds = Number(process.hrtime.bigint() - plainStarted) / 1e9;
plain.close();

// (b) export, then verify offline in another process with the public key only
const exportFile = join(work, 'audit.ndjson');
const cli = join(root, 'bin', 'veilgate.js');
// Straight to the file: the export of a long log does not fit a buffer, and need not.
const out = openSync(exportFile, 'w');
execFileSync(cli, ['audit', 'export', '--data-dir', dataDir], { stdio: ['ignore', out, 'inherit'] });
closeSync(out);
const timed = (command: string, args: string[]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, args, { maxBuffer: 1 << 26 });
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, status: r.status, stdout: r.stdout.toString() };
};
const verify = timed(cli, ['audit', 'verify', exportFile, '--key', join(root, 'keys-example', 'gateway.jwks.pub.json')]);
const hash = timed('sha256sum', [exportFile]);

const rate = (n: number, s: number) => Math.round(n / s).toLocaleString('en-US').padStart(10);
console.log(`${total.toLocaleString('en-US')} entries, ${writers} concurrent writers, checkpoint every 1 s (${checkpoints} signed)`);
console.log(`append, hash-chained (store)     ${appendSeconds.toFixed(2).padStart(7)} s ${rate(total, appendSeconds)} entries/s`);
console.log(`baseline: plain inserts, no chain ${plainSeconds.toFixed(2).padStart(7)} s ${rate(total, plainSeconds)} entries/s   ratio ${(plainSeconds / appendSeconds).toFixed(2)}`);
console.log(`export: ${(statSync(exportFile).size / 1048576).toFixed(1)} MiB`);
console.log(`verify offline (veilgate)        ${verify.seconds.toFixed(2).padStart(7)} s ${rate(total, verify.seconds)} entries/s   ${verify.status === 0 ? 'ok' : `FAILED ${verify.stdout}`}`);
console.log(`baseline: sha256sum of the file  ${hash.seconds.toFixed(2).padStart(7)} s   ratio ${(verify.seconds / hash.seconds).toFixed(1)}x`);
if (values.keep) console.log(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
if (verify.status !== 0) process.exitCode = 1;
