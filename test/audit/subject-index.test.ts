import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makeWorkspace, workspaceDeps } from '../helpers/workspace.js';

describe('the audit log\'s subject index', () => {
  it('finds every entry of a subject, whether already moved into the index or still in the append-only tail', async () => {
    const ws = makeWorkspace();
    const { deps } = await workspaceDeps(ws);
    try {
      const entry = (i: number) => ({ actor: 'recipient:demo-collector', action: 'release.account', target: `v1.a${i}`, details: { purpose: 'collection-contact', items: [{ subject: i % 3 === 0 ? 'v1.subjectX' : `v1.other${i}`, released: [], withheld: {} }] } });
      // One group commit of 3,000 (moved into the index at its end), then 1,500 that stay in the tail.
      await Promise.all(Array.from({ length: 3_000 }, (_, i) => deps.store.appendAudit([entry(i)])));
      await Promise.all(Array.from({ length: 1_500 }, (_, i) => deps.store.appendAudit([entry(3_000 + i)])));
      const found = await deps.store.queryAudit({ subjectToken: 'v1.subjectX', limit: 5_000 });
      expect(found).toHaveLength(1_500);
      expect(new Set(found.map((e) => e.seq)).size).toBe(1_500);
      const db = new Database(join(ws.dataDir, 'veilgate.db'), { readonly: true });
      const indexed = (db.prepare("SELECT COUNT(*) AS n FROM audit_subjects WHERE subject_token = 'v1.subjectX'").get() as { n: number }).n;
      const tail = (db.prepare("SELECT COUNT(*) AS n FROM audit_subject_tail WHERE subject_token = 'v1.subjectX'").get() as { n: number }).n;
      db.close();
      expect(indexed).toBeGreaterThan(0);
      expect(tail).toBeGreaterThan(0);
      expect(indexed + tail).toBe(1_500);
      const stats = await deps.store.officerStats({ from: '2000-01-01', to: '2100-01-01' });
      expect(stats.topSubjects[0]).toEqual({ subjectToken: 'v1.subjectX', accesses: 1_500 });
    } finally {
      await deps.store.close();
    }
  });
});
