import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { systemClock } from '../../src/lib/clock.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { pgTimeouts } from './backends.js';
import { apiKey } from '../helpers/app.js';
import { cliEntry, runVeilgate } from '../helpers/cli.js';
import { placementRow, writeCsv } from '../helpers/files.js';
import { Gpg } from '../helpers/gpg.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres.js';
import { makeWorkspace, projectRoot, type Workspace } from '../helpers/workspace.js';

// Issue 7: PostgreSQL restarted mid-ingest. A real `veilgate serve` on a PostgreSQL cluster of this
// test's own (the shared server must stay up), GnuPG files uploaded concurrently over the HTTP API,
// and the server crashed (pg_ctl -m immediate) and then shut down cleanly (-m fast) under that load.

const recordsPerFile = 30;
const filesPerOutage = 10;
const uploadConcurrency = 3;
/** `serve` runs its recovery of unfinished files every 30 s: files cut short by an outage wait for it. */
const recoveryIntervalMs = 30_000;

const bank = apiKey('demo-bank');
let db: PrivatePostgres;
let ws: Workspace;
let gpg: Gpg;
let gateway: ServeProcess;
/** Every file the test sent, whatever happened to it. */
const sent: SentFile[] = [];

interface SentFile {
  name: string;
  body: Buffer;
  key: string;
  /** From the first answer that named it (an ack, or a 202). */
  receiptId?: string;
  /** Every status the upload route answered for this file, in order. */
  answers: number[];
}

interface ServeProcess {
  url: string;
  child: ChildProcess;
  listeningAt: number;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
  /** Set when the test sends SIGTERM: an exit after that is not a crash. */
  stopping: boolean;
  output(): string;
}

beforeAll(async () => {
  db = await startPrivatePostgres();
  gpg = await Gpg.create();
  ws = makeWorkspace((raw) => {
    (raw as Record<string, unknown>).storage = { kind: 'postgres', url: db.url, schema: 'veilgate' };
    // Every request of the test counts against the source's bucket; the limit is not under test here.
    (raw as Record<string, unknown>).api = { rateLimitPerMinute: 100_000 };
  });
  gateway = await startServe(ws);
}, 60_000);

afterAll(async () => {
  if (gateway !== undefined && gateway.exit === null) {
    gateway.child.kill('SIGKILL');
    await once(gateway.child, 'exit');
  }
  await db?.cleanup();
});

describe('PostgreSQL restarted mid-ingest (issue 7)', () => {
  for (const mode of ['immediate', 'fast'] as const) {
    it(`reports not-ready and answers uploads 503 STORE_UNAVAILABLE while PostgreSQL is down (${mode} stop), and is ready again once it is back`, async () => {
      const files = await makeFiles(mode, filesPerOutage + 1);
      const probeFile = files.pop()!;
      const traffic = startTraffic(files);
      await waitFor(() => files.filter((f) => f.answers.includes(200)).length >= 2, 20_000, 'two files committed before the stop');

      await db.stop({ mode });
      onTestFinished(async () => {
        // Whatever failed above, the next test starts with the database up.
        if (!db.running) await db.start();
      });
      const stoppedAt = Date.now();
      const notReady = await waitForReadiness(503, 5_000);
      expect(notReady.json).toEqual({ status: 'not_ready', checks: { database: 'unavailable', keys: 'ok' } });
      expect((await call('/healthz')).status).toBe(200);

      // An upload while the database is down: a coded, retryable answer at once, not a hang or a 500.
      const startedAt = Date.now();
      const during = await upload(probeFile);
      expect(during.status).toBe(503);
      expect(during.json).toEqual({ code: 'STORE_UNAVAILABLE', message: expect.any(String) as string, details: {} });
      expect(during.retryAfter).toMatch(/^\d+$/);
      expect(Date.now() - startedAt).toBeLessThan(5_000);

      // Every upload cut by the outage was answered, with one of the answers a client can act on
      // (startTraffic fails on any other).
      await traffic.done;
      expect(gateway.exit).toBeNull();

      await db.start();
      await waitForReadiness(200, 10_000);
      // A creditor's client re-sends what got a 503, with the same Idempotency-Key.
      for (const f of [...files, probeFile].filter((x) => x.answers.at(-1) === 503)) await resendUntilAccepted(f);
      expect(Date.now() - stoppedAt).toBeLessThan(25_000);
    }, 60_000);
  }

  it('converges: every file sent is committed exactly once, each record is one account, the audit chain verifies, and the process never exited', async () => {
    // A file the outage interrupted mid-pipeline stays `processing` until the recovery cycle replays it.
    const deadline = gateway.listeningAt + 2 * recoveryIntervalMs + 10_000;
    await waitFor(async () => (await Promise.all(sent.map(isFinal))).every(Boolean), Math.max(deadline - Date.now(), 5_000), 'every receipt final', 500);

    for (const f of sent) {
      const receipt = await call(`/v1/receipts/${f.receiptId}`, { headers: { authorization: `Bearer ${bank}` } });
      expect(receipt.status, f.name).toBe(200);
      expect(await receipt.json(), f.name).toMatchObject({ status: 'committed', counts: { records: recordsPerFile, accepted: recordsPerFile, rejected: 0 } });
    }
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('SET search_path = veilgate');
      const states = await client.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM files GROUP BY state');
      expect(states.rows).toEqual([{ state: 'committed', n: sent.length }]);
      const hashes = await client.query<{ n: number }>('SELECT count(DISTINCT sha256)::int AS n FROM files');
      expect(hashes.rows[0]!.n).toBe(sent.length);
      const accounts = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM accounts');
      expect(accounts.rows[0]!.n).toBe(sent.length * recordsPerFile);
      const commits = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'file.committed'`);
      expect(commits.rows[0]!.n).toBe(sent.length);
    } finally {
      await client.end();
    }

    const verify = await runVeilgate(['audit', 'verify', '--config', ws.configFile]);
    expect(verify.status, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });

    expect(gateway.exit, gateway.output()).toBeNull();
    gateway.stopping = true;
    gateway.child.kill('SIGTERM');
    await once(gateway.child, 'exit');
    expect(gateway.exit).toEqual({ code: 0, signal: null });
  }, 90_000);
});

// The retry itself, made deterministic: the store's transaction waits on the audit chain head, which
// another session holds locked, and its backend is terminated while it waits (before COMMIT).
describe('the PostgreSQL store when a transaction loses its connection before COMMIT', () => {
  const receive = (store: PostgresStore, receiptId: string) => store.receiveFile({
    receiptId, source: 'demo-bank', kind: 'placement', channel: 'api', envelope: 'pgp', fileName: `${receiptId}.gpg`,
    sha256: receiptId.padEnd(64, '0'), sizeBytes: 1, spoolPath: `/spool/${receiptId}`, receivedAt: systemClock.now().toISOString(),
  }, { actor: 'source:demo-bank', action: 'file.received', target: receiptId, details: {} });

  /** Runs `during` while `store`'s audited transactions queue behind a head lock held by another session. */
  async function withHeadLocked(schema: string, during: (terminateWaiter: () => Promise<void>) => Promise<void>): Promise<void> {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT * FROM ${schema}.audit_head FOR UPDATE`);
      const holder = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // A terminated backend may still be listed for a moment: each call waits for a new one.
      const terminated: number[] = [];
      await during(async () => {
        let waiter: number | undefined;
        await waitFor(async () => {
          // pg_stat_activity is read once per transaction, and this session is inside one (the lock).
          await admin.query('SELECT pg_stat_clear_snapshot()');
          waiter = (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid)) AND pid <> ALL($2::int[])', [holder, terminated])).rows[0]?.pid;
          return waiter !== undefined;
        }, 5_000, 'the store to wait on the head lock', 20);
        terminated.push(waiter!);
        await admin.query('SELECT pg_terminate_backend($1)', [waiter]);
      });
    } finally {
      await admin.query('ROLLBACK');
      await admin.end();
    }
  }

  it('runs it again on a fresh connection: it commits once, with one audit entry', async () => {
    const store = await PostgresStore.open(db.url, { ...pgTimeouts, clock: systemClock, schema: 'store_retry', poolSize: 2 });
    try {
      let received: ReturnType<typeof receive> | undefined;
      await withHeadLocked('store_retry', async (terminateWaiter) => {
        received = receive(store, 'rcpt-retried');
        await terminateWaiter();
      });
      expect(await received).toMatchObject({ outcome: 'new', file: { receiptId: 'rcpt-retried', state: 'received' } });
      expect(await store.fileCounts()).toEqual([{ source: 'demo-bank', state: 'received', count: 1 }]);
      expect(await store.auditHead()).toMatchObject({ seq: 1 });
    } finally {
      await store.close();
    }
  });

  it('answers STORE_UNAVAILABLE, keeping pg\'s error only as the cause, when every attempt loses its connection', async () => {
    const store = await PostgresStore.open(db.url, { ...pgTimeouts, clock: systemClock, schema: 'store_gives_up', poolSize: 2 });
    try {
      let outcome: Promise<unknown> | undefined;
      await withHeadLocked('store_gives_up', async (terminateWaiter) => {
        outcome = receive(store, 'rcpt-given-up').catch((e: unknown) => e);
        for (let attempt = 0; attempt < 3; attempt++) await terminateWaiter();
      });
      const error = await outcome;
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });
      expect((error as Error).cause).toBeInstanceOf(Error);
      expect(await store.fileCounts()).toEqual([]);
      expect(await store.auditHead()).toMatchObject({ seq: 0 });
    } finally {
      await store.close();
    }
  });
});

async function startServe(workspace: Workspace): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cliEntry, 'serve', '--config', workspace.configFile, '--port', '0'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const p: ServeProcess = { url: '', child, listeningAt: 0, exit: null, stopping: false, output: () => out.slice(-20_000) };
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.on('exit', (code, signal) => (p.exit = { code, signal }));
  p.url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http\S+)/.exec(out);
      if (m !== null) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`serve exited early: ${out}`)));
  });
  p.listeningAt = Date.now();
  return p;
}

/** Placement files made with real gpg, signed by demo-bank; each record a distinct account. */
async function makeFiles(tag: string, count: number): Promise<SentFile[]> {
  return Promise.all(Array.from({ length: count }, async (_, i) => {
    const name = `restart-${tag}-${i}`;
    const rows = Array.from({ length: recordsPerFile }, (_, j) => placementRow(`RS-${tag}-${i}-${j}`));
    const csv = writeCsv(join(ws.dir, `${name}.csv`), rows);
    await gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
    const file: SentFile = { name, body: readFileSync(`${csv}.gpg`), key: `key-${name}`, answers: [] };
    sent.push(file);
    return file;
  }));
}

async function upload(f: SentFile): Promise<{ status: number; json: Record<string, unknown>; retryAfter: string | null }> {
  const res = await call('/v1/files?kind=placement', {
    method: 'POST',
    headers: { authorization: `Bearer ${bank}`, 'idempotency-key': f.key, 'content-type': 'application/octet-stream', 'x-veilgate-file-name': `${f.name}.csv.gpg` },
    body: new Blob([new Uint8Array(f.body)]),
    // A hang is a failure of its own: the gateway must answer, whatever the database does.
    signal: AbortSignal.timeout(20_000),
  });
  const json = (await res.json()) as Record<string, unknown>;
  await expectMatchesOpenApi('/v1/files', 'POST', res, json);
  f.answers.push(res.status);
  if (typeof json.receipt_id === 'string') f.receiptId ??= json.receipt_id;
  return { status: res.status, json, retryAfter: res.headers.get('retry-after') };
}

/** Uploads files `uploadConcurrency` at a time, each once, as a creditor's batch job would. */
function startTraffic(files: SentFile[]): { done: Promise<void> } {
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
      const { status, json } = await upload(f);
      if (status === 503) expect(json).toMatchObject({ code: 'STORE_UNAVAILABLE' });
      else if (status !== 200 && status !== 202) throw new Error(`${f.name}: unexpected ${status} ${JSON.stringify(json)}`);
      else expect(json).toMatchObject({ status: status === 200 ? 'committed' : 'processing' });
    }
  };
  const done = Promise.all(Array.from({ length: uploadConcurrency }, worker)).then(() => undefined);
  done.catch(() => undefined); // awaited by the test; a failure before that must not go unhandled
  return { done };
}

async function resendUntilAccepted(f: SentFile): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const { status, json } = await upload(f);
    if (status === 200 || status === 202) return;
    expect(status, JSON.stringify(json)).toBe(503);
    await sleep(500);
  }
  throw new Error(`${f.name}: still 503 after PostgreSQL came back`);
}

async function isFinal(f: SentFile): Promise<boolean> {
  if (f.receiptId === undefined) throw new Error(`${f.name}: no answer ever named its receipt (${f.answers.join(',')})`);
  const res = await call(`/v1/receipts/${f.receiptId}`, { headers: { authorization: `Bearer ${bank}` } });
  await res.body?.cancel();
  // 202 while unfinished; an ack (200, or 422 for a rejected file, which the next step reports) once final.
  return res.status !== 202;
}

/** A request to the gateway; no answer at all fails with what the gateway process said last. */
async function call(path: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(`${gateway.url}${path}`, init);
  } catch (error) {
    const state = gateway.exit === null ? 'is still running' : `exited ${JSON.stringify(gateway.exit)}`;
    throw new Error(`${path}: no answer (${String((error as Error).cause ?? error)}); the gateway ${state}. Its output:\n${gateway.output()}`, { cause: error });
  }
}

async function waitForReadiness(status: 200 | 503, withinMs: number): Promise<{ json: unknown }> {
  let last: { status: number; json: unknown } = { status: 0, json: null };
  await waitFor(async () => {
    const res = await call('/readyz', { signal: AbortSignal.timeout(withinMs) });
    last = { status: res.status, json: await res.json() };
    return last.status === status;
  }, withinMs, `/readyz ${status}`);
  return last;
}

async function waitFor(check: () => boolean | Promise<boolean>, withinMs: number, what: string, everyMs = 100): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (gateway?.exit != null && !gateway.stopping) throw new Error(`the gateway exited ${JSON.stringify(gateway.exit)} while waiting for ${what}. Its output:\n${gateway.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
