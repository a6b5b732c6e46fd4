/**
 * PostgreSQL and replicas benchmark (not a test):
 * `npm run bench:replicas -- [--records N] [--files F] [--skip-store] [--skip-replicas] [--pin] [--logs DIR]`.
 *
 * In one run, with the same gpg-encrypted placement files:
 *   (a) the store: `veilgate ingest` of one N-record file on the embedded SQLite store, then on
 *       PostgreSQL (127.0.0.1:5432, a fresh schema), each a fresh process; records/s and the ratio;
 *   (b) replicas: two SFTP sources on a local sshd, F files of N/F records each, taken by one
 *       `veilgate serve` on PostgreSQL, then (fresh schema, same files) by two; wall time from start
 *       until every file is committed, records/s and the ratio; with the machine's busy cores over the
 *       run (from /proc/stat) and the replicas' own share of them, and which replica took which files.
 *       `--pin` gives replica i core i alone (taskset), as if each replica had a machine of one core:
 *       on a machine where one replica already keeps every core busy, that is the only way to see
 *       whether the coordination itself lets a second replica add throughput.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { placementCsv } from '../src/demo/sample-placements.js';
import { startSshd } from '../test/helpers/sshd.js';
import { removeTempDirs } from '../test/helpers/temp-dirs.js';
import { makeWorkspace } from '../test/helpers/workspace.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '200000' }, files: { type: 'string', default: '4' }, 'skip-store': { type: 'boolean', default: false }, 'skip-replicas': { type: 'boolean', default: false }, pin: { type: 'boolean', default: false }, logs: { type: 'string' }, 'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' } } });
const records = Number(values.records);
const filesPerSource = Number(values.files);
const pgUrl = values['pg-url'];
const root = join(import.meta.dirname, '..');
const cli = join(root, 'bin', 'veilgate.js');
const keys = join(root, 'keys-example');
const work = mkdtempSync(join(tmpdir(), 'vg-bench-replicas-'));
const schemas: string[] = [];
const logs = values.logs ?? join(work, 'logs');
mkdirSync(logs, { recursive: true });
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

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
function machineJiffies(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = fields.map(Number);
  const idle = n[3]! + n[4]!; // idle + iowait
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** `/proc/PID/stat` fields after the command name (index 0 is field 3 of proc(5)), or null if gone. */
function procStat(pid: string | number): { name: string; fields: number[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number) };
  } catch {
    return null;
  }
}

/** CPU jiffies of the PostgreSQL server so far: its live processes, plus the exited ones (the postmaster's children's time). */
function postgresJiffies(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const p = procStat(pid);
    if (p?.name !== 'postgres') continue;
    sum += p.fields[11]! + p.fields[12]!; // utime, stime
    if (procStat(p.fields[1]!)?.name !== 'postgres') sum += p.fields[13]! + p.fields[14]!; // the postmaster: cutime, cstime
  }
  return sum;
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

  if (!values['skip-replicas']) {
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
      const runReplicas = async (count: number): Promise<{ seconds: number; cores: number; replicaCores: number; postgresCores: number; taken: string[] }> => {
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
        const before = machineJiffies();
        const postgresBefore = postgresJiffies();
        const cores = availableParallelism();
        const serve = ['serve', '--config', ws.configFile, '--port', '0'];
        // Each replica's log tells which files it took; --logs keeps them (step times of each file too).
        const logFile = (i: number) => join(logs, `${base}-replica${i + 1}.log`);
        const children = Array.from({ length: count }, (_, i): ChildProcess => {
          const stdio: StdioOptions = ['ignore', openSync(logFile(i), 'w'), 'ignore'];
          return values.pin ? spawn('taskset', ['-c', String(i % cores), cli, ...serve], { stdio }) : spawn(cli, serve, { stdio });
        });
        const expected = sources.length * filesPerSource;
        for (;;) {
          const { rows } = await db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${schema}.files WHERE state = 'committed'`).catch(() => ({ rows: [{ n: 0 }] }));
          if (rows[0]!.n >= expected) break;
          if (children.some((c) => c.exitCode !== null)) throw new Error('a replica exited');
          await new Promise((r) => setTimeout(r, 100));
        }
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const after = machineJiffies();
        const postgresAfter = postgresJiffies();
        // taskset execs the CLI in place, so the child's pid is the replica's either way.
        const replicaJiffies = children.reduce((sum, c) => sum + procStat(c.pid!)!.fields.slice(11, 13).reduce((a, b) => a + b), 0);
        for (const c of children) c.kill('SIGTERM');
        await Promise.all(children.map((c) => once(c, 'exit')));
        const busyShare = (after.busy - before.busy) / (after.total - before.total);
        const jiffiesPerCore = (after.total - before.total) / cores;
        const taken = children.map((_, i) => {
          const bySource = new Map<string, number>();
          for (const line of readFileSync(logFile(i), 'utf8').split('\n')) {
            if (!line.includes('"sftp file taken"')) continue;
            const { source } = JSON.parse(line) as { source: string };
            bySource.set(source, (bySource.get(source) ?? 0) + 1);
          }
          return `replica ${i + 1} took ${[...bySource].map(([source, n]) => `${n} files of ${source}`).join(', ') || 'no file'}`;
        });
        return { seconds, cores: busyShare * cores, replicaCores: replicaJiffies / jiffiesPerCore, postgresCores: (postgresAfter - postgresBefore) / jiffiesPerCore, taken };
      };
      const show = (label: string, r: Awaited<ReturnType<typeof runReplicas>>, ratio = '') => {
        console.log(`    ${label} ${r.seconds.toFixed(2).padStart(7)} s ${rate(total, r.seconds)}   cores busy ${r.cores.toFixed(2)} (replicas ${r.replicaCores.toFixed(2)}, PostgreSQL ${r.postgresCores.toFixed(2)})${ratio}`);
        for (const line of r.taken) console.log(`        ${line}`);
      };
      const total = perFile * filesPerSource * sources.length;
      if (values.pin) console.log('    (pinned: replica i on core i alone)');
      const one = await runReplicas(1);
      show('1 replica ', one);
      const two = await runReplicas(2);
      show('2 replicas', two, `   ratio ${(one.seconds / two.seconds).toFixed(2)}x`);
    } finally {
      await sshd.stop();
    }
  }
} finally {
  for (const schema of schemas) await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await db.end();
  rmSync(work, { recursive: true, force: true });
  // The workspaces' folders (databases, spools): outside vitest no test hook removes them.
  removeTempDirs();
}
