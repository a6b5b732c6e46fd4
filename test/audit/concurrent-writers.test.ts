import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/chain.js';
import { makeWorkspace, workspaceDeps } from '../helpers/workspace.js';

function child(configFile: string, count: number, label: string): Promise<number | null> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'append-child.ts'), configFile, String(count), label], { stdio: ['ignore', 'ignore', 'inherit'] });
  return new Promise((resolve) => proc.on('exit', resolve));
}

describe('the audit chain under concurrent writers', () => {
  it('never forks: three processes appending at once leave one unbroken chain with every entry once', async () => {
    const ws = makeWorkspace();
    const { deps } = await workspaceDeps(ws);
    try {
      const before = (await deps.store.auditHead()).seq;
      const local = Promise.all(Array.from({ length: 400 }, (_, i) => deps.store.appendAudit([{ actor: 'operator', action: 'test.append', target: `main:${i}`, details: { i } }])));
      const statuses = await Promise.all([child(ws.configFile, 400, 'a'), child(ws.configFile, 400, 'b'), local.then(() => 0)]);
      expect(statuses).toEqual([0, 0, 0]);
      const head = await deps.store.auditHead();
      expect(head.seq - before).toBe(1200);
      const log = await deps.store.readAudit(1, head.seq);
      expect(verifyChain(log)).toMatchObject({ ok: true, entries: head.seq });
      const targets = log.filter((e) => e.action === 'test.append').map((e) => e.target);
      expect(new Set(targets).size).toBe(1200);
    } finally {
      await deps.store.close();
    }
  }, 60_000);

  it('records a change of the release policy (grants, rules) once, when a gateway first starts with it', async () => {
    const ws = makeWorkspace();
    const first = await workspaceDeps(ws);
    const again = await workspaceDeps(ws);
    const changed = makeWorkspace((raw) => {
      (raw.recipients as Record<string, { grants: Record<string, Record<string, string>> }>)['demo-letters']!.grants['letter-mailing']!.balance = 'value';
      (raw.recipients as Record<string, { grants: Record<string, Record<string, string>> }>)['demo-letters']!.grants['letter-mailing']!.phone = 'masked';
    });
    const third = await workspaceDeps({ ...changed, dataDir: ws.dataDir, config: { ...changed.config, dataDir: ws.dataDir } });
    try {
      const head = await third.deps.store.auditHead();
      const entries = (await third.deps.store.readAudit(1, head.seq)).filter((e) => e.action === 'policy.changed');
      expect(entries.map((e) => e.target)).toEqual([first.deps.releasePolicy.version, third.deps.releasePolicy.version]);
      expect(third.deps.releasePolicy.version).not.toBe(first.deps.releasePolicy.version);
    } finally {
      for (const d of [first, again, third]) await d.deps.store.close();
    }
  });
});
