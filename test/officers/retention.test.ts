import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../src/deps.js';
import { fixedClock } from '../../src/lib/clock.js';
import { applyRetention } from '../../src/officers/retention.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { Gpg } from '../helpers/gpg.js';
import { filesUnder } from '../helpers/pii.js';
import { makeWorkspace, workspaceDeps, type Workspace } from '../helpers/workspace.js';

const day = 86_400_000;
const clock = fixedClock(new Date('2026-01-10T12:00:00Z'));
let ws: Workspace;
let deps: Deps;
let gpg: Gpg;

beforeAll(async () => {
  gpg = await Gpg.create();
  ws = makeWorkspace((raw) => {
    (raw as Record<string, unknown>).retention = { spoolDays: 30, rejectedRecordsDays: 90, recalledAccountsDays: 365 };
  });
  ({ deps } = await workspaceDeps(ws, { clock }));
});
afterAll(async () => {
  await deps?.store.close();
});

async function send(name: string, kind: 'placement' | 'recall', rows: Array<Record<string, string>>) {
  const csv = writeCsv(join(ws.dir, `${name}.csv`), rows);
  await gpg.encrypt(csv, `${csv}.gpg`, { signer: 'demo-bank@example.invalid' });
  return ingestFile(deps, `${csv}.gpg`, 'demo-bank', kind);
}

const db = () => new Database(join(ws.dataDir, 'veilgate.db'), { readonly: true });
const count = (sql: string) => {
  const d = db();
  try {
    return (d.prepare(sql).get() as { n: number }).n;
  } finally {
    d.close();
  }
};

describe('retention', () => {
  it('removes spooled files, rejected-record findings and recalled accounts\' personal data when their periods end, and audits it', async () => {
    const placed = await send('placements', 'placement', [
      placementRow('RET-1', { phone: '+14155550100' }), placementRow('RET-2', { phone: '+14155550101' }), placementRow('RET-3', { national_id: 'bad', national_id_type: 'us_ssn' }),
    ]);
    expect(placed.counts).toMatchObject({ accepted: 2, rejected: 1 });
    await send('recall', 'recall', [{ account_ref: 'RET-1', recall_reason: 'paid_to_creditor', effective_date: '2026-01-09' }]);
    const spool = join(ws.dataDir, 'spool');
    expect(filesUnder(spool)).toHaveLength(2);

    expect(await applyRetention(deps)).toEqual({ spool_files: 0, orphaned_spool_files: 0, findings: 0, recalled_accounts: 0 });

    clock.advance(31 * day);
    expect(await applyRetention(deps)).toEqual({ spool_files: 2, orphaned_spool_files: 0, findings: 0, recalled_accounts: 0 });
    expect(filesUnder(spool)).toEqual([]);
    expect(count('SELECT COUNT(*) AS n FROM files WHERE spool_purged_at IS NOT NULL')).toBe(2);

    clock.advance(60 * day);
    expect((await applyRetention(deps)).findings).toBe(1);
    expect(count('SELECT COUNT(*) AS n FROM findings')).toBe(0);
    // The acknowledgement, which the creditor already has, stays with the file.
    expect(JSON.parse((await deps.store.getFile(placed.receipt_id))!.ack!)).toMatchObject({ counts: { rejected: 1 } });

    clock.advance(275 * day);
    expect((await applyRetention(deps)).recalled_accounts).toBe(1);
    // RET-1's vaulted values are gone; RET-2 (still placed) keeps its own.
    expect(count("SELECT COUNT(*) AS n FROM records WHERE kind = 'placement' AND vault IS NULL")).toBe(1);
    expect(count("SELECT COUNT(*) AS n FROM records WHERE kind = 'placement' AND vault IS NOT NULL")).toBe(1);
    expect(count('SELECT COUNT(*) AS n FROM accounts WHERE purged_at IS NOT NULL')).toBe(1);

    const head = await deps.store.auditHead();
    const applied = (await deps.store.readAudit(1, head.seq)).filter((e) => e.action === 'retention.applied');
    expect(applied.map((e) => e.details)).toEqual(expect.arrayContaining([
      expect.objectContaining({ spool_files: 2 }), expect.objectContaining({ findings: 1 }), expect.objectContaining({ recalled_accounts: 1 }),
    ]));
  });

  it('removes spooled copies no receipt names, and temp files of cut-short writes, an hour after they were written', async () => {
    const dir = join(ws.dataDir, 'spool', 'demo-bank');
    mkdirSync(dir, { recursive: true });
    const kept = await send('kept', 'placement', [placementRow('RET-9')]);
    const keptPath = (await deps.store.getFile(kept.receipt_id))!.spoolPath;
    const orphan = join(dir, 'rcpt_orphan0000000000000000.pgp');
    const incoming = join(dir, '.incoming-rcpt_cut000000000000000000');
    const young = join(dir, 'rcpt_young0000000000000000.pgp');
    for (const f of [orphan, incoming, young]) writeFileSync(f, 'encrypted bytes');
    const at = (msAgo: number) => new Date(clock.now().getTime() - msAgo);
    for (const f of [orphan, incoming, keptPath]) utimesSync(f, at(2 * 3_600_000), at(2 * 3_600_000));
    utimesSync(young, at(60_000), at(60_000));

    expect((await applyRetention(deps)).orphaned_spool_files).toBe(2);
    expect([orphan, incoming].map(existsSync)).toEqual([false, false]);
    expect([young, keptPath].map(existsSync)).toEqual([true, true]);
    const head = await deps.store.auditHead();
    expect((await deps.store.readAudit(head.seq, head.seq))[0]).toMatchObject({ action: 'retention.applied', details: { orphaned_spool_files: 2 } });
  });
});
