/**
 * PostgreSQL and replicas benchmark (not a test): `npm run bench:replicas -- [--records N] [--files F] [--skip-store]`.
 *
 * In one run, with the same gpg-encrypted placement files:
 *   (a) the store: `veilgate ingest` of one N-record file on the embedded SQLite store, then on
 *       PostgreSQL (127.0.0.1:5432, a fresh schema), each a fresh process; records/s and the ratio;
 *   (b) replicas: two SFTP sources on a local sshd, F files of N/F records each, taken by one
 *       `veilgate serve` on PostgreSQL, then (fresh schema, same files) by two; wall time from start
 *       until every file is committed, records/s and the ratio.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { placementCsv } from '../src/demo/sample-placements.js';
import { startSshd } from '../test/helpers/sshd.js';
import { makeWorkspace } from '../test/helpers/workspace.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '200000' }, files: { type: 'string', default: '4' }, 'skip-store': { type: 'boolean', default: false }, 'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' } } });
const records = Number(values.records);
const filesPerSource = Number(values.files);
const pgUrl = values['pg-url'];
const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'veilgate.js');
const keys = join(root, 'keys-example');
const work = mkdtempSync(join(tmpdir(), 'vg-bench-replicas-'));
const schemas: string[] = [];
const db = new pg.Client({ connectionString: pgUrl });
await db.connect();

const home = join(work, 'gnupg');
mkdirSync(home, { mode: 0o700 });
const gpg = (args: string[]) => void execFileSync('gpg', ['--homedir', home, '--batch', '--yes', '--quiet', '--trust-model', 'always', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
gpg(['--import', ...['gateway', 'demo-bank', 'demo-agency'].map((k) => join(keys, `${k}.pgp.pub.asc`)), join(keys, 'demo-bank.pgp.asc'), join(keys, 'demo-agency.pgp.asc')]);

/** A placement file of `count` generated records with a trailer, encrypted to the gateway and signed by `source`, as GnuPG does by default. */
async function placementFile(output: string, count: number, seed: number, source: string, prefix: string): Promise<void> {
  const csv = join(work, 'plain.csv');
  const out = createWriteStream(csv);
  for (const chunk of placementCsv(count, { seed, trailer: true, sourcePrefix: prefix })) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
  gpg(['--output', output, '--sign', '--local-user', `${source}@example.invalid`, '--recipient', 'gateway@veilgate.invalid', '--encrypt', csv]);
  rmSync(csv);
}

function freshSchema(): string {
  const schema = `vg_bench_${randomBytes(5).toString('hex')}`;
  schemas.push(schema);
  return schema;
}

const rate = (n: number, s: number) => `${Math.round(n / s).toLocaleString('en-US').padStart(9)} records/s`;

try {
  if (!values['skip-store']) {
    // (a) one file, one process, each store
    console.log(`(a) one file of ${records.toLocaleString('en-US')} records, veilgate ingest on each store`);
    const file = join(work, 'demo-bank_placement.csv.gpg');
    await placementFile(file, records, 1, 'demo-bank', 'ACC');
    const ingest = (configArgs: string[]) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cli, ['ingest', '--source', 'demo-bank', '--kind', 'placement', ...configArgs, file], { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`veilgate ingest exited ${r.status}: ${r.stderr.toString()}`);
      return Number(process.hrtime.bigint() - t0) / 1e9;
    };
    const sqlite = ingest(['--data-dir', join(work, 'sqlite-data')]);
    const pgWs = makeWorkspace((raw) => {
      (raw as Record<string, unknown>).storage = { kind: 'postgres', url: pgUrl, schema: freshSchema() };
    });
    execFileSync(cli, ['migrate', '--config', pgWs.configFile], { stdio: 'ignore' });
    const postgres = ingest(['--config', pgWs.configFile]);
    console.log(`    SQLite      ${sqlite.toFixed(2).padStart(7)} s ${rate(records, sqlite)}`);
    console.log(`    PostgreSQL  ${postgres.toFixed(2).padStart(7)} s ${rate(records, postgres)}   ratio PostgreSQL/SQLite throughput ${(sqlite / postgres).toFixed(2)}`);
  }

  // (b) one replica, then two, on two SFTP sources
  const perFile = Math.ceil(records / filesPerSource);
  console.log(`(b) two SFTP sources × ${filesPerSource} files × ${perFile.toLocaleString('en-US')} records, veilgate serve on PostgreSQL`);
  const made = join(work, 'made');
  mkdirSync(made);
  const sources = ['demo-bank', 'demo-agency'] as const;
  for (const source of sources) {
    for (let i = 0; i < filesPerSource; i++) await placementFile(join(made, `${source}_${i}.csv.gpg`), perFile, 100 + i, source, `${source === 'demo-bank' ? 'B' : 'G'}${i}`);
  }
  const sshd = await startSshd();
  try {
    const runReplicas = async (count: number): Promise<number> => {
      const base = `run${count}`;
      const schema = freshSchema();
      const ws = makeWorkspace((raw) => {
        (raw as Record<string, unknown>).storage = { kind: 'postgres', url: pgUrl, schema };
        for (const source of sources) {
          const inbound = `${base}/${source}/inbound`;
          mkdirSync(join(sshd.root, inbound), { recursive: true });
          raw.sources[source]!.sftp = {
            host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyFile: sshd.clientKeyFile, hostKeySha256: sshd.hostKeySha256,
            inbound: [{ dir: inbound, kind: 'placement' }], pollIntervalMs: 200, settleMs: 0,
          };
        }
      });
      execFileSync(cli, ['migrate', '--config', ws.configFile], { stdio: 'ignore' });
      for (const source of sources) {
        for (let i = 0; i < filesPerSource; i++) copyFileSync(join(made, `${source}_${i}.csv.gpg`), join(sshd.root, base, source, 'inbound', `${source}_${i}.csv.gpg`));
      }
      const t0 = process.hrtime.bigint();
      const children = Array.from({ length: count }, () => spawn(cli, ['serve', '--config', ws.configFile, '--port', '0'], { stdio: 'ignore' }));
      const expected = sources.length * filesPerSource;
      for (;;) {
        const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${schema}.files WHERE state = 'committed'`).catch(() => ({ rows: [{ n: 0 }] }));
        if (rows[0]!.n >= expected) break;
        if (children.some((c) => c.exitCode !== null)) throw new Error('a replica exited');
        await new Promise((r) => setTimeout(r, 100));
      }
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      for (const c of children) c.kill('SIGTERM');
      await Promise.all(children.map((c) => once(c, 'exit')));
      return seconds;
    };
    const total = perFile * filesPerSource * sources.length;
    const one = await runReplicas(1);
    console.log(`    1 replica   ${one.toFixed(2).padStart(7)} s ${rate(total, one)}`);
    const two = await runReplicas(2);
    console.log(`    2 replicas  ${two.toFixed(2).padStart(7)} s ${rate(total, two)}   ratio ${(one / two).toFixed(2)}x`);
  } finally {
    await sshd.stop();
  }
} finally {
  for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
  rmSync(work, { recursive: true, force: true });
}
