import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { runVeilgate } from '../helpers/cli.js';
import { writeCsv, placementRow } from '../helpers/files.js';
import { Gpg } from '../helpers/gpg.js';
import { makeWorkspace, type Workspace } from '../helpers/workspace.js';

let ws: Workspace;
let gpg: Gpg;
let goodFile: string;

beforeAll(async () => {
  ws = makeWorkspace();
  gpg = await Gpg.create();
  goodFile = join(ws.dir, 'demo-bank_placement_20261128_001.csv.gpg');
  await gpg.encrypt(writeCsv(join(ws.dir, 'good.csv'), [placementRow('CLI-1'), placementRow('CLI-2', { national_id: 'bad', national_id_type: 'us_ssn' })]), goodFile, { signer: 'demo-bank@example.invalid' });
});

const ingest = (file: string, extra: string[] = []) => runVeilgate(['ingest', '--config', ws.configFile, '--source', 'demo-bank', '--kind', 'placement', ...extra, file]);

describe('veilgate ingest', () => {
  it('prints only the acknowledgement JSON on stdout and exits 0 when the file commits with rejected records', async () => {
    const r = await ingest(goodFile);
    expect(r.status).toBe(0);
    const ack = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(ack)).toEqual(['receipt_id', 'source', 'kind', 'file_name', 'sha256', 'received_at', 'status', 'counts', 'control_totals', 'dropped_fields', 'errors', 'warnings', 'file_error']);
    expect(ack).toMatchObject({ status: 'committed', file_name: 'demo-bank_placement_20261128_001.csv.gpg', counts: { records: 2, accepted: 1, rejected: 1 } });
  });

  it('answers duplicate with exit 0 for the same bytes again, and stores nothing new', async () => {
    const r = await ingest(goodFile);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'duplicate', duplicate_of: expect.stringMatching(/^rcpt_/) as string });
    const db = new Database(join(ws.dataDir, 'veilgate.db'), { readonly: true });
    expect(db.prepare('SELECT COUNT(*) AS n FROM records').get()).toEqual({ n: 1 });
    db.close();
  });

  it('exits 3 with a rejected acknowledgement when the file is rejected whole', async () => {
    const junk = join(ws.dir, 'junk.gpg');
    writeFileSync(junk, 'not an openpgp message');
    const r = await ingest(junk);
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'rejected', file_error: { code: 'OPEN_NOT_OPENPGP' } });
  });

  it('exits 2 for a usage error, an unknown source and a bad configuration', async () => {
    expect((await runVeilgate(['ingest', goodFile])).status).toBe(2);
    expect((await runVeilgate(['ingest', '--config', ws.configFile, '--source', 'nobody', '--kind', 'placement', goodFile])).status).toBe(2);
    const bad = join(ws.dir, 'bad-config.json');
    writeFileSync(bad, '{"limits": {"maxRecordBytes": -1}}');
    const r = await runVeilgate(['ingest', '--config', bad, '--source', 'demo-bank', '--kind', 'placement', goodFile]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('CONFIG_INVALID');
  });
});

describe('veilgate config', () => {
  it('prints the demo configuration, which passes config check when saved and passed back', async () => {
    const demo = await runVeilgate(['config', 'demo', '--json']);
    const saved = join(ws.dir, 'saved-demo.json');
    writeFileSync(saved, demo.stdout);
    const check = await runVeilgate(['config', 'check', '--config', saved]);
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('3 sources, 2 recipients');
  });

  it('config check lists every problem and exits 2', async () => {
    const bad = join(ws.dir, 'two-problems.json');
    writeFileSync(bad, '{"limits": {"maxRecordBytes": -1}, "surprise": true}');
    const r = await runVeilgate(['config', 'check', '--config', bad]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/2 problem\(s\)/);
    expect(r.stdout).toContain('limits.maxRecordBytes');
    expect(r.stdout).toContain('surprise');
  });
});

describe('veilgate audit verify', () => {
  it('verifies the chain, then names the first entry after one was edited in the database', async () => {
    const ok = await runVeilgate(['audit', 'verify', '--config', ws.configFile]);
    expect(ok.status).toBe(0);
    const report = JSON.parse(ok.stdout) as { ok: boolean; entries: number };
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThanOrEqual(4);
    const db = new Database(join(ws.dataDir, 'veilgate.db'));
    db.prepare(`UPDATE audit_log SET details = '{"records":999}' WHERE seq = 2`).run();
    db.close();
    const bad = await runVeilgate(['audit', 'verify', '--config', ws.configFile]);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });
});

describe('veilgate keys init', () => {
  it('writes a fresh key set and refuses to overwrite it', async () => {
    const out = join(ws.dir, 'keys');
    expect((await runVeilgate(['keys', 'init', '--out', out])).status).toBe(0);
    for (const f of ['gateway.pgp.asc', 'gateway.pgp.pub.asc', 'gateway.jwks.json', 'gateway.jwks.pub.json', 'token-root.v1.key', 'vault-root.v1.key']) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    const again = await runVeilgate(['keys', 'init', '--out', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('KEY_EXISTS');
  });
});

describe('veilgate status', () => {
  it('reports files by source and state, and the audit head', async () => {
    const r = await runVeilgate(['status', '--config', ws.configFile]);
    expect(r.status).toBe(0);
    const status = JSON.parse(r.stdout) as { sources: Record<string, { files: Record<string, number> }>; audit: { seq: number } };
    expect(status.sources['demo-bank']!.files.committed).toBeGreaterThanOrEqual(1);
    expect(status.sources['demo-hospital']).toEqual({ files: {} });
    expect(status.audit.seq).toBeGreaterThan(0);
  });
});
