import { execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { placementCsv } from '../../src/demo/sample-placements.js';
import { runVeilgate } from '../helpers/cli.js';
import { Gpg } from '../helpers/gpg.js';
import { makeWorkspace } from '../helpers/workspace.js';

describe('a crash mid-file', () => {
  it('SIGKILLed while staging, then run again (on the worker thread), converges on exactly one committed copy of each record', async () => {
    const ws = makeWorkspace();
    // About 150 MB (the file, its plaintext, the database), removed when the file ends like every workspace.
    const gpg = await Gpg.create();
    const records = 60_000;
    const csv = join(ws.dir, 'big.csv');
    const out = createWriteStream(csv);
    for (const chunk of placementCsv(records, { seed: 3, trailer: true })) out.write(chunk);
    out.end();
    await once(out, 'finish');
    const file = join(ws.dir, 'big.csv.gpg');
    await gpg.encrypt(csv, file, { signer: 'demo-bank@example.invalid' });
    const args = ['ingest', '--config', ws.configFile, '--source', 'demo-bank', '--kind', 'placement', file];
    const dbFile = join(ws.dataDir, 'veilgate.db');

    // Kill the first run once it has staged some records but before it could commit.
    let pid = 0;
    const first = runVeilgate(args, { onSpawn: (p) => (pid = p), env: { VEILGATE_LIMITS__PREPARE_ON_WORKER: 'false' } });
    const staged = await waitFor(() => {
      try {
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('SELECT COUNT(*) AS n FROM records').get() as { n: number }).n;
        } finally {
          db.close();
        }
      } catch {
        return 0;
      }
    }, (n) => n > 0);
    execFileSync('kill', ['-KILL', String(pid)]);
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    expect(staged).toBeLessThan(records);

    const db = new Database(dbFile, { readonly: true });
    expect((db.prepare(`SELECT state FROM files`).all() as Array<{ state: string }>).map((r) => r.state)).toEqual(['processing']);
    db.close();

    // The replay parses and prepares on the worker thread (limits.prepareOnWorker, on by default; the
    // first run had it off): a file staged partly one way and replayed the other must end the same.
    const second = await runVeilgate([...args, '--log-level', 'info']);
    expect(second.status).toBe(0);
    const committedLog = second.stderr.split('\n').filter((l) => l.includes('"file committed"'));
    expect(committedLog).toHaveLength(1);
    const committed = JSON.parse(committedLog[0]!) as { preparedOnWorker: boolean; recordCount: number; stagingMs: number; commitMs: number };
    expect(committed).toMatchObject({ preparedOnWorker: true, recordCount: records });
    // Operators read where the time went: the replay staged every record again, then committed them.
    expect(committed.stagingMs).toBeGreaterThan(0);
    expect(committed.commitMs).toBeGreaterThanOrEqual(0);
    const ack = JSON.parse(second.stdout) as { status: string; counts: { accepted: number } };
    expect(ack).toMatchObject({ status: 'committed', counts: { records, accepted: records } });

    const after = new Database(dbFile, { readonly: true });
    const files = after.prepare('SELECT state, attempts FROM files').all();
    expect(files).toEqual([{ state: 'committed', attempts: 2 }]);
    const counts = after.prepare('SELECT COUNT(*) AS rows, COUNT(DISTINCT account_token) AS accounts FROM records').get();
    expect(counts).toEqual({ rows: records, accounts: records });
    after.close();

    // And a third run is a duplicate that changes nothing.
    const third = await runVeilgate(args);
    expect(JSON.parse(third.stdout)).toMatchObject({ status: 'duplicate' });
    const final = new Database(dbFile, { readonly: true });
    expect(final.prepare('SELECT COUNT(*) AS n FROM records').get()).toEqual({ n: records });
    final.close();
  }, 180_000);
});

async function waitFor<T>(probe: () => T, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
