import { describe, expect, it } from 'vitest';
import { chainEntries, genesisHash, verifyChain, type AuditEntry } from '../../src/audit/chain.js';

const drafts = Array.from({ length: 6 }, (_, i) => ({ actor: 'gateway', action: 'file.committed', target: `rcpt_${i}`, details: { records: i } }));
const chain = (): AuditEntry[] => chainEntries({ seq: 0, hash: genesisHash }, drafts, '2026-11-28T00:00:00.000Z');

describe('the audit hash chain', () => {
  it('verifies as written', () => {
    expect(verifyChain(chain())).toMatchObject({ ok: true, entries: 6, head: { seq: 6 } });
  });
  it('names the first entry whose content was edited', () => {
    const c = chain();
    c[3] = { ...c[3]!, details: { records: 99 } };
    expect(verifyChain(c)).toMatchObject({ ok: false, firstBadSeq: 4 });
  });
  it('detects a deleted, a reordered and an inserted entry', () => {
    const deleted = chain().filter((e) => e.seq !== 3);
    expect(verifyChain(deleted)).toMatchObject({ ok: false, firstBadSeq: 3 });
    const c = chain();
    const reordered = [c[0]!, c[2]!, c[1]!, ...c.slice(3)];
    expect(verifyChain(reordered)).toMatchObject({ ok: false, firstBadSeq: 2 });
    const inserted = [...c.slice(0, 2), { ...c[2]!, target: 'forged' }, ...c.slice(2)];
    expect(verifyChain(inserted)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });
});
