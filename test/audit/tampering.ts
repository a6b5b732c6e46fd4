import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointNow } from '../../src/audit/checkpointer.js';
import { exportLines } from '../../src/audit/export.js';
import type { Deps } from '../../src/deps.js';
import { keysDir } from '../helpers/gpg.js';
import { makeWorkspace, workspaceDeps, type Workspace } from '../helpers/workspace.js';

/** Shared by the audit verification tests: an exported log to tamper with, and an attacker's tools. */

export const publicJwksFile = join(keysDir, 'gateway.jwks.pub.json');
export const publicJwks = JSON.parse(readFileSync(publicJwksFile, 'utf8')) as { keys: Array<Record<string, string>> };

export interface AuditExport {
  ws: Workspace;
  deps: Deps;
  /** The export's lines: header, checkpoints, entries. */
  lines: string[];
  /** Entries before the test's own (the gateway's start writes one: the release policy in force). */
  base: number;
  checkpoint20: string;
  checkpoint50: string;
}

/** A gateway's log of 50 release entries with a signed checkpoint after the 20th and the 50th (then `extra` more), exported. */
export async function auditExport(extra = 0): Promise<AuditExport> {
  const ws = makeWorkspace();
  const { deps } = await workspaceDeps(ws);
  const base = (await deps.store.auditHead()).seq;
  const draft = (i: number) => ({ actor: 'recipient:demo-collector', action: 'release.account', target: `v1.account${i}`, details: { purpose: 'collection-contact', items: [{ subject: `v1.subject${i % 7}`, released: ['balance'], withheld: { email: 'consent_not_granted' } }] } });
  const append = (from: number, count: number) => Promise.all(Array.from({ length: count }, (_, i) => deps.store.appendAudit([draft(from + i)])));
  await append(1, 20);
  const checkpoint20 = (await checkpointNow(deps))!.jws;
  await append(21, 30);
  const checkpoint50 = (await checkpointNow(deps))!.jws;
  await append(51, extra);
  const lines: string[] = [];
  for await (const chunk of exportLines(deps.store)) lines.push(...chunk.split('\n').filter((l) => l !== ''));
  return { ws, deps, lines, base, checkpoint20, checkpoint50 };
}

export const parse = (l: string) => JSON.parse(l) as Record<string, unknown>;

/** An independent canonical form and hash, in a few lines, from the documented entry format. */
export function ownHash(e: Record<string, unknown>): string {
  const canon = (v: unknown): string => (v === null || typeof v !== 'object' ? JSON.stringify(v)
    : Array.isArray(v) ? `[${v.map(canon).join(',')}]`
      : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`).join(',')}}`);
  return createHash('sha256').update(JSON.stringify([e.seq, e.at, e.actor, e.action, e.target, canon(e.details), e.prev_hash])).digest('hex');
}

/** Views of an export's lines, and the edits an attacker would make to them. */
export function tampering(lines: () => readonly string[]) {
  const header = () => lines()[0]!;
  const checkpoints = () => lines().filter((l) => l.includes('"type":"checkpoint"'));
  const entries = () => lines().filter((l) => l.includes('"type":"entry"'));
  return {
    header,
    checkpoints,
    entries,
    withEntries: (list: string[], head = header(), cps = checkpoints()) => [head, ...cps, ...list],
    /** The entries, entry `seq` changed (its hash left as it was). */
    edit: (seq: number, change: (e: Record<string, unknown>) => void) => entries().map((l) => {
      const e = parse(l);
      if (e.seq === seq) change(e);
      return JSON.stringify(e);
    }),
    /** An attacker who also recomputes every hash after the change, so the chain is internally consistent. */
    rehash: (list: string[]) => {
      let prev = '0'.repeat(64);
      return list.map((l) => {
        const e = parse(l);
        e.prev_hash = prev;
        e.hash = ownHash(e);
        prev = e.hash as string;
        return JSON.stringify(e);
      });
    },
  };
}
