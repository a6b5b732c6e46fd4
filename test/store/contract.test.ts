import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { verifyChain, type AuditDraft } from '../../src/audit/chain.js';
import { recordCodes } from '../../src/errors/codes.js';
import { sqliteMigrations } from '../../src/store/migrations/sqlite.js';
import { fixedClock } from '../../src/lib/clock.js';
import type { RecordKind } from '../../src/config/types.js';
import { recordFacts } from '../../src/pipeline/record-facts.js';
import type { AccountFacts, Lease, NewFile, StagedRecord, Store } from '../../src/store/store.js';
import { openBackend, type Backend, type BackendKind } from './backends.js';

/**
 * The store contract: every backend passes the same suite, each test on a fresh database (a temp
 * SQLite file, a PostgreSQL schema of its own). Tests that need two replicas open a second store on
 * the same database.
 */

const t0 = Date.parse('2025-03-01T10:00:00.000Z');
const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const noFacts = { delinquencyDate: null, updateType: null, subjectState: null };
const placementData = { delinquency_date: '2025-01-15', debt_type: 'credit_card', consent_email: 'granted' };

const draft = (action: string, target: string, details: Record<string, unknown> = {}, actor = 'gateway'): AuditDraft => ({ actor, action, target, details });
const releaseDraft = (recipient: string, account: string, items: unknown[], purpose = 'collection'): AuditDraft =>
  draft('release.account', account, { purpose, items }, `recipient:${recipient}`);

describe.each(['sqlite', 'sqlite-commit-thread', 'postgres'] as const)('%s store contract', (kind: BackendKind) => {
  let backend: Backend;
  let store: Store;
  let clock: ReturnType<typeof fixedClock>;
  let fileNo = 0;

  beforeEach(async () => {
    clock = fixedClock(new Date(t0));
    backend = await openBackend(kind, clock);
    store = backend.store;
  });

  afterEach(async () => {
    await backend.cleanup();
  });

  const now = () => clock.now().getTime();
  const iso = () => clock.now().toISOString();

  function newFile(over: Partial<NewFile> = {}): NewFile {
    const receiptId = `rcpt-${kind}-${++fileNo}`;
    return {
      receiptId, source: 'acme', kind: 'placement', channel: 'cli', envelope: 'pgp', fileName: `${receiptId}.csv.gpg`,
      sha256: createHash('sha256').update(receiptId).digest('hex'), sizeBytes: 1234, spoolPath: `/spool/${receiptId}`, receivedAt: iso(), ...over,
    };
  }

  async function receiveAndClaim(over: Partial<NewFile> = {}, owner = 'worker-1'): Promise<{ file: NewFile; lease: Lease }> {
    const file = newFile(over);
    expect((await store.receiveFile(file, draft('file.received', file.receiptId))).outcome).toBe('new');
    const lease = await store.claimFile(file.receiptId, owner, now(), 60_000, () => false);
    expect(lease).not.toBeNull();
    return { file, lease: lease! };
  }

  type Rec = { account: string; subject?: string | null; data?: Record<string, unknown> | string; vault?: Buffer | null };
  const staged = (recordKind: RecordKind, records: readonly Rec[], from = 1): StagedRecord[] => records.map((r, i) => ({
    recordNo: from + i, kind: recordKind, accountToken: r.account, subjectToken: r.subject ?? null,
    data: typeof r.data === 'string' ? r.data : JSON.stringify(r.data ?? {}), vault: r.vault ?? null,
    ...recordFacts(recordKind, typeof r.data === 'string' ? JSON.parse(r.data) as Record<string, string> : (r.data ?? {}) as Record<string, string>),
  }));

  /** A file of one kind taken through receive → claim → stage → commit; returns its receipt id. */
  async function commitRecords(recordKind: RecordKind, records: readonly Rec[], options: { source?: string; keys?: Map<string, Buffer> } = {}): Promise<string> {
    const { file, lease } = await receiveAndClaim({ kind: recordKind, source: options.source ?? 'acme' });
    await store.stage(lease, staged(recordKind, records), [], options.keys);
    expect(await store.commitFile(lease, '{"state":"committed"}', iso(), draft('file.committed', file.receiptId))).toBe('committed');
    return file.receiptId;
  }

  async function wholeChain() {
    const head = await store.auditHead();
    return { head, check: verifyChain(await store.readAudit(1, head.seq)) };
  }

  /** Reads facts through release(), writing no audit entry. */
  async function factsOf(tokens: readonly string[]): Promise<ReadonlyMap<string, AccountFacts>> {
    return store.release(tokens, (facts) => ({ result: facts, audit: [] }));
  }

  // ---- files and leases --------------------------------------------------------------------

  it('receives the same bytes from a source once, and audits each new receipt', async () => {
    const file = newFile();
    const first = await store.receiveFile(file, draft('file.received', file.receiptId));
    expect(first).toMatchObject({ outcome: 'new', file: { receiptId: file.receiptId, state: 'received', leaseToken: 0, attempts: 0, sizeBytes: 1234, commitSeq: null } });

    const again = await store.receiveFile({ ...file, receiptId: 'other-receipt' }, draft('file.received', 'other-receipt'));
    expect(again).toMatchObject({ outcome: 'existing', file: { receiptId: file.receiptId } });
    expect(await store.getFile('other-receipt')).toBeNull();

    const otherSource = await store.receiveFile({ ...file, receiptId: 'other-source', source: 'globex' }, draft('file.received', 'other-source'));
    expect(otherSource.outcome).toBe('new');

    expect((await store.auditHead()).seq).toBe(2);
    expect((await store.listUnfinishedFiles()).map((f) => f.receiptId).sort()).toEqual([file.receiptId, 'other-source'].sort());
    expect(await store.fileCounts()).toEqual([{ source: 'acme', state: 'received', count: 1 }, { source: 'globex', state: 'received', count: 1 }]);
  });

  it('records a duplicate as final with its ack, outside the live-bytes key', async () => {
    const original = await commitRecords('placement', [{ account: 'A1', data: placementData }]);
    const sha256 = (await store.getFile(original))!.sha256;
    const dup = newFile({ sha256 });
    await store.recordDuplicate({ ...dup, duplicateOf: original, ack: '{"state":"duplicate"}' }, draft('file.duplicate', dup.receiptId));
    expect(await store.getFile(dup.receiptId)).toMatchObject({ state: 'duplicate', duplicateOf: original, ack: '{"state":"duplicate"}', finishedAt: dup.receivedAt });
    expect((await store.findLiveFile('acme', sha256))?.receiptId).toBe(original);
    expect((await store.readAudit(1, 100)).map((e) => e.action)).toEqual(['file.received', 'file.committed', 'file.duplicate']);
  });

  it('keeps a live lease exclusive, and fences the old holder once the lease is taken over', async () => {
    const { file, lease: first } = await receiveAndClaim({}, 'worker-a');
    expect(first.token).toBe(1);
    expect(await store.claimFile(file.receiptId, 'worker-b', now() + 500, 1_000, () => false)).toBeNull();
    clock.advance(30_000);
    expect(await store.renewLease(first, now(), 60_000)).toBe(true);
    expect(await store.claimFile(file.receiptId, 'worker-b', now() + 59_000, 1_000, () => false)).toBeNull();

    const second = await store.claimFile(file.receiptId, 'worker-b', now() + 61_000, 60_000, () => false);
    expect(second).toEqual({ receiptId: file.receiptId, owner: 'worker-b', token: 2 });

    await expect(store.stage(first, staged('placement', [{ account: 'A1' }]), [])).rejects.toMatchObject({ code: 'PIPELINE_LEASE_LOST' });
    await expect(store.rejectDuplicateAccounts(first)).rejects.toMatchObject({ code: 'PIPELINE_LEASE_LOST' });
    expect(await store.renewLease(first, now(), 60_000)).toBe(false);
    expect(await store.commitFile(first, '{}', iso(), draft('file.committed', file.receiptId))).toBe('lease-lost');
    expect(await store.rejectFile(first, '{}', 'OPEN_DECRYPT_FAILED', iso(), draft('file.rejected', file.receiptId))).toBe(false);
    expect(await store.getFile(file.receiptId)).toMatchObject({ state: 'processing', leaseOwner: 'worker-b', leaseToken: 2, attempts: 2 });

    await store.stage(second!, staged('placement', [{ account: 'A1', data: placementData }]), []);
    expect(await store.commitFile(second!, '{"ok":1}', iso(), draft('file.committed', file.receiptId))).toBe('committed');
    expect(await store.getFile(file.receiptId)).toMatchObject({ state: 'committed', commitSeq: 1, ack: '{"ok":1}', leaseOwner: null, leaseUntilMs: null });
    expect(await store.claimFile(file.receiptId, 'worker-c', now() + dayMs, 1_000, () => true)).toBeNull();
    expect((await store.readAudit(1, 100)).map((e) => e.action)).toEqual(['file.received', 'file.committed']);
  });

  it('takes a file over from a dead owner at once, and discards what the earlier attempt staged', async () => {
    const { file, lease } = await receiveAndClaim({}, 'worker-a');
    await store.stage(lease, staged('placement', [{ account: 'A1' }, { account: 'A2' }]), [{ record: 1, code: 'FIELD_REQUIRED', field: 'x', message: '', severity: 'error' }], new Map([['S1', Buffer.from('k1')]]));
    expect(await store.countStagedRecords(file.receiptId)).toBe(2);
    const taken = await store.claimFile(file.receiptId, 'worker-b', now(), 60_000, (owner) => owner === 'worker-a');
    expect(taken?.token).toBe(2);
    expect(await store.countStagedRecords(file.receiptId)).toBe(0);
    expect(await store.findingCounts(file.receiptId)).toEqual({ rejectedRecords: 0, errors: 0, warnings: 0 });
    expect(await store.subjectKeyConflicts(file.receiptId)).toEqual([]);
    await store.stage(taken!, staged('placement', [{ account: 'A1', subject: 'S1' }]), [], new Map([['S1', Buffer.from('k2')]]));
    expect(await store.commitFile(taken!, '{}', iso(), draft('file.committed', file.receiptId))).toBe('committed');
    expect((await store.getSubjectKeys(['S1'])).get('S1')).toEqual(Buffer.from('k2'));
  });

  it('lets exactly one of two replicas claim a file, and records the same bytes once when both receive them', async () => {
    const other = await backend.openAnother();
    const file = newFile();
    const received = await Promise.all([
      store.receiveFile(file, draft('file.received', file.receiptId)),
      other.receiveFile({ ...file, receiptId: `${file.receiptId}-b` }, draft('file.received', `${file.receiptId}-b`)),
    ]);
    expect(received.map((r) => r.outcome).sort()).toEqual(['existing', 'new']);
    const live = received.find((r) => r.outcome === 'new')!.file.receiptId;
    const claims = await Promise.all([
      store.claimFile(live, 'worker-a', now(), 60_000, () => false),
      other.claimFile(live, 'worker-b', now(), 60_000, () => false),
    ]);
    expect(claims.filter((c) => c !== null)).toHaveLength(1);
    expect(claims.find((c) => c !== null)!.token).toBe(1);
  });

  it('rejects a file: staging dropped, ack stored, and the same bytes can be received afresh', async () => {
    const { file, lease } = await receiveAndClaim();
    await store.stage(lease, staged('placement', [{ account: 'A1', subject: 'S1' }]), [{ record: 1, code: 'FIELD_REQUIRED', message: '', severity: 'error' }], new Map([['S1', Buffer.from('k')]]));
    expect(await store.rejectFile(lease, '{"state":"rejected"}', 'OPEN_DECRYPT_FAILED', iso(), draft('file.rejected', file.receiptId))).toBe(true);
    expect(await store.getFile(file.receiptId)).toMatchObject({ state: 'rejected', ack: '{"state":"rejected"}', leaseOwner: null });
    expect(await store.countStagedRecords(file.receiptId)).toBe(0);
    expect(await store.findingCounts(file.receiptId)).toEqual({ rejectedRecords: 0, errors: 0, warnings: 0 });
    expect(await store.getSubjectKeys(['S1'])).toEqual(new Map());
    expect(await store.findLiveFile('acme', file.sha256)).toBeNull();
    const again = await store.receiveFile({ ...file, receiptId: 'retry' }, draft('file.received', 'retry'));
    expect(again.outcome).toBe('new');
    expect(await store.listUnfinishedFiles()).toEqual([expect.objectContaining({ receiptId: 'retry' })]);
  });

  // ---- staging -----------------------------------------------------------------------------

  it('counts and lists findings by severity and record, several per record', async () => {
    const { file, lease } = await receiveAndClaim();
    await store.stage(lease, [], [
      { record: 2, field: 'iban', code: 'IBAN_INVALID', message: '', severity: 'error' },
      { record: 2, field: 'email', code: 'EMAIL_INVALID', message: '', severity: 'error' },
      { record: 3, field: 'phone', code: 'PHONE_INVALID', message: '', severity: 'warning' },
      { record: 5, code: 'ACCOUNT_REF_DUPLICATE', message: '', severity: 'error' },
    ]);
    expect(await store.findingCounts(file.receiptId)).toEqual({ rejectedRecords: 2, errors: 3, warnings: 1 });
    expect(await store.listFindings(file.receiptId, 'error', 2)).toEqual([
      { record: 2, field: 'iban', code: 'IBAN_INVALID', message: recordCodes.IBAN_INVALID },
      { record: 2, field: 'email', code: 'EMAIL_INVALID', message: recordCodes.EMAIL_INVALID },
    ]);
    expect(await store.listFindings(file.receiptId, 'error', 10)).toContainEqual({ record: 5, code: 'ACCOUNT_REF_DUPLICATE', message: recordCodes.ACCOUNT_REF_DUPLICATE });
    expect(await store.listFindings(file.receiptId, 'warning', 10)).toEqual([{ record: 3, field: 'phone', code: 'PHONE_INVALID', message: recordCodes.PHONE_INVALID }]);
  });

  it('returns staged records byte for byte, and removes only the later records of a repeated account', async () => {
    const { file, lease } = await receiveAndClaim();
    // Key order and spacing kept; characters of one to four UTF-8 bytes, and what text formats treat
    // specially (backslash, tab, newline, carriage return, COPY's \N and \. markers), come back as they
    // went in, as does a vault of every byte value.
    const oddJson = '{"z":"last","a": 1,  "nested":{"b":2},"esc":"a\\\\b \\"q\\" \\n \\t \\u0000","raw":"\t|\n|\r|\\N|\\.|é|😀"}';
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await store.stage(lease, [
      { recordNo: 1, kind: 'placement', accountToken: 'A1', subjectToken: 'S1', data: oddJson, vault: allBytes, ...noFacts },
      { recordNo: 2, kind: 'placement', accountToken: 'A2', subjectToken: null, data: '{}', vault: null, ...noFacts },
    ], []);
    await store.stage(lease, [
      { recordNo: 3, kind: 'placement', accountToken: 'A1', subjectToken: 'S1', data: '{}', vault: null, ...noFacts },
      { recordNo: 4, kind: 'update', accountToken: 'A1', subjectToken: 'S1', data: '{}', vault: null, ...noFacts },
      { recordNo: 5, kind: 'recall', accountToken: 'A2', subjectToken: null, data: '{}', vault: null, ...noFacts },
    ], []);
    expect(await store.rejectDuplicateAccounts(lease)).toEqual([3, 5]);
    expect(await store.countStagedRecords(file.receiptId)).toBe(3);
    const records = await store.listRecords(file.receiptId, 10);
    expect(records.map((r) => r.recordNo)).toEqual([1, 2, 4]);
    expect(records[0]).toEqual({ recordNo: 1, kind: 'placement', accountToken: 'A1', subjectToken: 'S1', data: oddJson, vault: allBytes });
    expect(records[1]!.vault).toBeNull();
    expect(await store.listRecords(file.receiptId, 1)).toHaveLength(1);
  });

  // ---- subject keys ------------------------------------------------------------------------

  it('publishes subject keys staged with a file only when the file commits', async () => {
    const { file, lease } = await receiveAndClaim();
    const wrapped = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i)); // every byte value, as a wrapped key may hold
    await store.stage(lease, staged('placement', [{ account: 'A1', subject: 'S1' }]), [], new Map([['S1', wrapped]]));
    expect(await store.getSubjectKeys(['S1'])).toEqual(new Map());
    expect(await store.commitFile(lease, '{}', iso(), draft('file.committed', file.receiptId))).toBe('committed');
    expect(await store.getSubjectKeys(['S1', 'S2'])).toEqual(new Map([['S1', wrapped]]));
  });

  it('refuses to commit over a key another file committed meanwhile, until the file is settled', async () => {
    const a = await receiveAndClaim();
    const b = await receiveAndClaim({}, 'worker-2');
    await store.stage(a.lease, staged('placement', [{ account: 'A1', subject: 'S1' }]), [], new Map([['S1', Buffer.from('key-a')]]));
    await store.stage(b.lease, staged('placement', [{ account: 'B1', subject: 'S1', vault: Buffer.from('sealed-with-b') }, { account: 'B2', subject: 'S2' }]), [],
      new Map([['S1', Buffer.from('key-b')], ['S2', Buffer.from('key-b2')]]));
    expect(await store.commitFile(a.lease, '{}', iso(), draft('file.committed', a.file.receiptId))).toBe('committed');
    const headBefore = (await store.auditHead()).seq;

    expect(await store.commitFile(b.lease, '{}', iso(), draft('file.committed', b.file.receiptId))).toBe('subject-key-conflict');
    expect((await store.auditHead()).seq).toBe(headBefore);
    expect(await store.getFile(b.file.receiptId)).toMatchObject({ state: 'processing' });
    expect(await store.subjectKeyConflicts(b.file.receiptId)).toEqual([{ subjectToken: 'S1', committed: Buffer.from('key-a'), staged: [Buffer.from('key-b')] }]);
    expect(await store.recordsOfSubjects(b.file.receiptId, ['S1'])).toEqual([{ recordNo: 1, subjectToken: 'S1', vault: Buffer.from('sealed-with-b') }]);

    await store.settleSubjectKeys(b.lease, [{ recordNo: 1, vault: Buffer.from('sealed-with-a') }], new Map([['S1', null]]));
    expect(await store.subjectKeyConflicts(b.file.receiptId)).toEqual([]);
    expect(await store.commitFile(b.lease, '{}', iso(), draft('file.committed', b.file.receiptId))).toBe('committed');
    expect(await store.getSubjectKeys(['S1', 'S2'])).toEqual(new Map([['S1', Buffer.from('key-a')], ['S2', Buffer.from('key-b2')]]));
    expect((await store.listRecords(b.file.receiptId, 1))[0]!.vault).toEqual(Buffer.from('sealed-with-a'));
  });

  it('reports two keys one file staged for one subject, with no committed key, and keeps the one chosen', async () => {
    const { file, lease } = await receiveAndClaim();
    await store.stage(lease, staged('placement', [{ account: 'A1', subject: 'S1' }]), [], new Map([['S1', Buffer.from('first')]]));
    await store.stage(lease, staged('placement', [{ account: 'A2', subject: 'S1' }], 2), [], new Map([['S1', Buffer.from('second')]]));
    expect(await store.subjectKeyConflicts(file.receiptId)).toEqual([{ subjectToken: 'S1', committed: null, staged: [Buffer.from('first'), Buffer.from('second')] }]);
    await expect(store.settleSubjectKeys({ ...lease, token: lease.token + 1 }, [], new Map([['S1', Buffer.from('first')]]))).rejects.toMatchObject({ code: 'PIPELINE_LEASE_LOST' });
    await store.settleSubjectKeys(lease, [{ recordNo: 2, vault: Buffer.from('resealed') }], new Map([['S1', Buffer.from('first')]]));
    expect(await store.subjectKeyConflicts(file.receiptId)).toEqual([]);
    expect(await store.commitFile(lease, '{}', iso(), draft('file.committed', file.receiptId))).toBe('committed');
    expect(await store.getSubjectKeys(['S1'])).toEqual(new Map([['S1', Buffer.from('first')]]));
  });

  // ---- accounts ----------------------------------------------------------------------------

  it('maintains account state through placement, recall and placement again', async () => {
    expect(await store.findAccounts([])).toEqual(new Map());
    await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData }, { account: 'A2', data: { debt_type: 'medical' } }]);
    expect(await store.findAccounts(['A1', 'A2', 'nope'])).toEqual(new Map([
      ['A1', { accountToken: 'A1', subjectToken: 'S1', status: 'placed', delinquencyDate: '2025-01-15' }],
      ['A2', { accountToken: 'A2', subjectToken: null, status: 'placed', delinquencyDate: null }],
    ]));
    await commitRecords('recall', [{ account: 'A1', subject: 'S1', data: { recall_reason: 'paid' } }]);
    expect((await store.findAccounts(['A1'])).get('A1')).toEqual({ accountToken: 'A1', subjectToken: 'S1', status: 'recalled', delinquencyDate: '2025-01-15' });
    await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: { ...placementData, delinquency_date: '2025-02-01' } }]);
    expect((await store.findAccounts(['A1'])).get('A1')).toMatchObject({ status: 'placed', delinquencyDate: '2025-02-01' });
  });

  it('moves an account placed again for another subject to that subject alone', async () => {
    await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData }, { account: 'A2', subject: 'S1', data: placementData }]);
    await commitRecords('recall', [{ account: 'A1', subject: 'S1', data: { recall_reason: 'paid' } }]);
    await commitRecords('placement', [{ account: 'A1', subject: 'S2', data: placementData }]);

    // Who hears of a subject's change, and what an officer sees of a subject: A1 is S2's now, not S1's.
    const s1 = await store.recordSubjectChange({ subjectToken: 'S1', changes: { disputed: 'Y' }, origin: 'recipient:r1', at: iso() }, draft('subject.restricted', 'S1'));
    expect(s1?.accounts).toBe(1);
    const s2 = await store.recordSubjectChange({ subjectToken: 'S2', changes: { disputed: 'Y' }, origin: 'recipient:r1', at: iso() }, draft('subject.restricted', 'S2'));
    expect(s2?.accounts).toBe(1);
    expect((await store.subjectHoldings('S1'))!.accounts.map((a) => a.accountToken)).toEqual(['A2']);
    expect((await store.subjectHoldings('S2'))!.accounts.map((a) => a.accountToken)).toEqual(['A1']);

    // A restriction sent on A2 reaches the subject's other accounts: none now.
    const head = await store.feedHead();
    await commitRecords('update', [{ account: 'A2', subject: 'S1', data: { update_type: 'restriction', cease_communication: 'Y' } }]);
    const events = await store.releaseFeed({ sources: null, afterSeq: head, limit: 100 }, (evs) => ({ result: evs.map((e) => [e.type, e.accountToken]), audit: [] }));
    expect(events).toEqual([['subject.restricted', 'A2']]);
  });

  it('does not show a staged, uncommitted placement to readers', async () => {
    const { lease } = await receiveAndClaim();
    await store.stage(lease, staged('placement', [{ account: 'A1', data: placementData }]), []);
    expect(await store.findAccounts(['A1'])).toEqual(new Map());
    expect(await factsOf(['A1'])).toEqual(new Map());
    expect(await store.feedHead()).toBe(0);
  });

  // ---- audit -------------------------------------------------------------------------------

  it('keeps one unbroken chain under concurrent appends from many promises and two replicas', async () => {
    const other = await backend.openAnother();
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 40; i++) {
      writes.push(store.appendAudit([draft('test.append', `t${i}`, { i }), draft('test.append', `t${i}b`, { i, second: true })]));
      writes.push(other.appendAudit([draft('test.other', `o${i}`, { i })]));
      if (i % 4 === 0) writes.push(store.receiveFile(newFile(), draft('file.received', `f${i}`)));
      if (i % 4 === 2) writes.push(other.receiveFile(newFile(), draft('file.received', `g${i}`)));
    }
    await Promise.all(writes);
    const { head, check } = await wholeChain();
    expect(head.seq).toBe(40 * 2 + 40 + 20);
    expect(check).toEqual({ ok: true, entries: head.seq, head });
    expect(await other.auditHead()).toEqual(head);
    const entries = await store.readAudit(1, head.seq);
    // Each call's drafts stay together and in order.
    for (const e of entries.filter((x) => x.action === 'test.append' && x.details.second === undefined)) {
      expect(entries[e.seq]).toMatchObject({ target: `${e.target}b` });
    }
  });

  it('stores checkpoints once per position and lists them by range', async () => {
    expect(await store.latestCheckpoint()).toBeNull();
    await store.addCheckpoint({ seq: 10, hash: 'h10', at: '2025-03-01T10:00:00.000Z', jws: 'jws10' });
    await store.addCheckpoint({ seq: 10, hash: 'other', at: '2025-03-02T10:00:00.000Z', jws: 'other' });
    await store.addCheckpoint({ seq: 20, hash: 'h20', at: '2025-03-01T11:00:00.000Z', jws: 'jws20' });
    await store.addCheckpoint({ seq: 30, hash: 'h30', at: '2025-03-01T12:00:00.000Z', jws: 'jws30' });
    expect(await store.listCheckpoints(5, 20)).toEqual([
      { seq: 10, hash: 'h10', at: '2025-03-01T10:00:00.000Z', jws: 'jws10' },
      { seq: 20, hash: 'h20', at: '2025-03-01T11:00:00.000Z', jws: 'jws20' },
    ]);
    expect(await store.latestCheckpoint()).toEqual({ seq: 30, hash: 'h30', at: '2025-03-01T12:00:00.000Z', jws: 'jws30' });
    expect((await store.auditHead()).seq).toBe(0);
  });

  async function seedAccessLog(): Promise<void> {
    await store.appendAudit([releaseDraft('r1', 'A1', [{ subject: 'S1', released: ['debt_type'], withheld: {} }])]);
    clock.advance(hourMs);
    await store.appendAudit([releaseDraft('r2', 'A2', [{ subject: 'S2', released: ['debt_type', 'balance'], withheld: { phone: 'no_grant', email: 'consent' } }], 'verification')]);
    clock.advance(hourMs);
    await store.appendAudit([draft('subject.restricted', 'S1', { fields: ['cease_communication'] }, 'officer:o1')]);
    clock.advance(hourMs);
    await store.appendAudit([draft('file.received', 'rcpt-x')]);
  }

  it('filters the audit log by subject, actor, action, purpose, time and position, newest first', async () => {
    await seedAccessLog();
    const seqs = async (f: Parameters<Store['queryAudit']>[0]) => (await store.queryAudit(f)).map((e) => e.seq);
    expect(await seqs({ limit: 10 })).toEqual([4, 3, 2, 1]);
    expect(await seqs({ limit: 2 })).toEqual([4, 3]);
    expect(await seqs({ subjectToken: 'S1', limit: 10 })).toEqual([3, 1]);
    expect(await seqs({ actor: 'recipient:r2', limit: 10 })).toEqual([2]);
    expect(await seqs({ action: 'release.account', limit: 10 })).toEqual([2, 1]);
    expect(await seqs({ purpose: 'collection', limit: 10 })).toEqual([1]);
    expect(await seqs({ from: new Date(t0 + hourMs).toISOString(), to: new Date(t0 + 3 * hourMs).toISOString(), limit: 10 })).toEqual([3, 2]);
    expect(await seqs({ beforeSeq: 3, limit: 1 })).toEqual([2]);
    expect(await seqs({ actor: "x' OR 1=1 --", limit: 10 })).toEqual([]);
    const [entry] = await store.queryAudit({ purpose: 'verification', limit: 1 });
    expect(entry).toMatchObject({ seq: 2, actor: 'recipient:r2', details: { purpose: 'verification', items: [{ subject: 'S2', withheld: { phone: 'no_grant' } }] } });
  });

  it('summarises accesses for the privacy officer from the audit log', async () => {
    await seedAccessLog();
    const stats = await store.officerStats({ from: new Date(t0 - dayMs).toISOString(), to: new Date(t0 + dayMs).toISOString() });
    expect(stats).toEqual({
      accessesByDay: [
        { day: '2025-03-01', recipient: 'r1', purpose: 'collection', count: 1 },
        { day: '2025-03-01', recipient: 'r2', purpose: 'verification', count: 1 },
      ],
      fieldsByRecipient: [{ recipient: 'r1', released: 1, withheld: 0 }, { recipient: 'r2', released: 2, withheld: 2 }],
      topSubjects: [{ subjectToken: 'S1', accesses: 1 }, { subjectToken: 'S2', accesses: 1 }],
    });
    expect(await store.officerStats({ from: new Date(t0 + hourMs).toISOString(), to: new Date(t0 + dayMs).toISOString() }))
      .toMatchObject({ accessesByDay: [{ recipient: 'r2' }], topSubjects: [{ subjectToken: 'S2' }] });
  });

  // ---- release -----------------------------------------------------------------------------

  it('releases the committed facts of a placement with its audit entry, in one transaction', async () => {
    const receipt = await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData, vault: Buffer.from('vault-1') }],
      { keys: new Map([['S1', Buffer.from('wrapped-S1')]]) });
    const headBefore = (await store.auditHead()).seq;
    const seen = await store.release(['A1', 'unknown'], (facts) => ({
      result: facts,
      audit: [releaseDraft('r1', 'A1', [{ subject: 'S1', released: ['debt_type'], withheld: {} }])],
    }));
    expect([...seen.keys()]).toEqual(['A1']);
    const a1 = seen.get('A1')!;
    expect(a1).toMatchObject({
      accountToken: 'A1', subjectToken: 'S1', source: 'acme', status: 'placed', placement: JSON.stringify(placementData), placementVault: Buffer.from('vault-1'),
      recall: null, updates: [], wrappedKey: Buffer.from('wrapped-S1'), erased: false,
    });
    expect(a1.subjectEvents).toEqual([{ id: expect.any(Number) as number, field: 'consent_email', value: 'granted' }]);
    expect((await store.auditHead()).seq).toBe(headBefore + 1);
    expect(await store.queryAudit({ subjectToken: 'S1', limit: 5 })).toEqual([expect.objectContaining({ action: 'release.account', target: 'A1' })]);
    expect((await store.subjectHoldings('S1'))?.subjectEvents).toEqual([{ id: a1.subjectEvents[0]!.id, field: 'consent_email', value: 'granted', origin: `file:${receipt}#1`, at: expect.any(String) as string }]);
  });

  it('rejects only the failing decision of a group, writing no entry for it', async () => {
    await commitRecords('placement', [{ account: 'A1', data: placementData }]);
    const headBefore = (await store.auditHead()).seq;
    const boom = new Error('decide failed');
    const results = await Promise.allSettled([
      store.release(['A1'], () => ({ result: 'first', audit: [releaseDraft('r1', 'A1', [])] })),
      store.release(['A1'], () => { throw boom; }),
      store.appendAudit([draft('cli.read', 'x')]),
      store.release(['A1'], (facts) => ({ result: facts.get('A1')?.status, audit: [releaseDraft('r2', 'A1', []), releaseDraft('r2', 'A1', [])] })),
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'first' },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: undefined },
      { status: 'fulfilled', value: 'placed' },
    ]);
    const { head, check } = await wholeChain();
    expect(head.seq).toBe(headBefore + 4);
    expect(check.ok).toBe(true);
  });

  it('gives release the updates since the latest placement and the recall behind a tombstone', async () => {
    await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData }]);
    await commitRecords('update', [{ account: 'A1', subject: 'S1', data: { update_type: 'balance', balance: '10.00' }, vault: Buffer.from('u1') }]);
    await commitRecords('recall', [{ account: 'A1', subject: 'S1', data: { recall_reason: 'paid' } }]);
    const recalled = (await factsOf(['A1'])).get('A1')!;
    expect(recalled).toMatchObject({ status: 'recalled', recall: '{"recall_reason":"paid"}', updates: [{ data: '{"update_type":"balance","balance":"10.00"}', vault: Buffer.from('u1') }] });
    expect((await store.subjectHoldings('S1'))?.accounts).toEqual([expect.objectContaining({ accountToken: 'A1', status: 'recalled', updates: 1 })]);

    await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData }]);
    expect((await factsOf(['A1'])).get('A1')).toMatchObject({ status: 'placed', recall: null, updates: [] });
  });

  // ---- feed and subject changes --------------------------------------------------------------

  it('feeds commits and subject changes in order, each account of the subject hearing of them', async () => {
    await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData }, { account: 'A2', subject: 'S1', data: { debt_type: 'medical' } }]);
    await commitRecords('update', [{ account: 'A1', subject: 'S1', data: { update_type: 'restriction', cease_communication: 'Y' } }], { source: 'globex' });
    expect(await store.recordSubjectChange({ subjectToken: 'nobody', changes: { consent_sms: 'denied' }, origin: 'recipient:r1', at: iso() }, draft('subject.consent_changed', 'nobody'))).toBeNull();
    const headBefore = (await store.auditHead()).seq;

    const change = await store.recordSubjectChange(
      { subjectToken: 'S1', changes: { disputed: 'Y', consent_sms: 'denied' }, origin: 'recipient:r1', at: iso() },
      draft('subject.restricted', 'S1', { fields: ['disputed', 'consent_sms'] }, 'recipient:r1'));
    expect(change?.accounts).toBe(2);
    expect((await store.auditHead()).seq).toBe(headBefore + 1);

    const page = await store.releaseFeed({ sources: null, afterSeq: 0, limit: 100 }, (events, facts) => ({ result: { events, facts }, audit: [draft('release.feed', 'r1', { events: events.length }, 'recipient:r1')] }));
    expect(page.events.map((e) => [e.seq, e.type, e.accountToken, e.source])).toEqual([
      [1, 'account.placed', 'A1', 'acme'],
      [2, 'account.placed', 'A2', 'acme'],
      [3, 'subject.restricted', 'A1', 'globex'],
      [4, 'subject.restricted', 'A2', 'acme'],
      [5, 'subject.restricted', 'A1', 'acme'],
      [6, 'subject.restricted', 'A2', 'acme'],
      [7, 'subject.consent_changed', 'A1', 'acme'],
      [8, 'subject.consent_changed', 'A2', 'acme'],
    ]);
    expect(page.events[0]!.changes).toBeNull();
    expect(page.events[2]!.changes).toEqual({ update_type: 'restriction', cease_communication: 'Y' });
    expect(page.events[4]!.changes).toEqual({ disputed: 'Y' });
    expect(page.events[7]!.changes).toEqual({ consent_sms: 'denied' });
    const events = page.facts.get('A2')!.subjectEvents;
    expect(events.map((e) => [e.field, e.value])).toEqual([['consent_email', 'granted'], ['cease_communication', 'Y'], ['disputed', 'Y'], ['consent_sms', 'denied']]);
    expect(change?.consentVersion).toBe(events[events.length - 1]!.id);
    expect((await store.auditHead()).seq).toBe(headBefore + 2);

    const later = await store.releaseFeed({ sources: ['globex'], afterSeq: 0, limit: 100 }, (evs) => ({ result: evs.map((e) => e.seq), audit: [] }));
    expect(later).toEqual([3]);
    expect(await store.releaseFeed({ sources: null, afterSeq: 6, limit: 1 }, (evs) => ({ result: evs.map((e) => e.seq), audit: [] }))).toEqual([7]);
    expect(await store.feedHead()).toBe(8);
  });

  it('moves a recipient\'s feed position forward only', async () => {
    expect(await store.feedPosition('r1')).toBe(0);
    expect(await store.acknowledgeFeed('r1', 5)).toBe(5);
    expect(await store.acknowledgeFeed('r1', 3)).toBe(5);
    expect(await store.acknowledgeFeed('r1', 9)).toBe(9);
    expect(await store.feedPosition('r1')).toBe(9);
    expect(await store.feedPosition('r2')).toBe(0);
  });

  it('counts recalls a recipient has not acknowledged, before a time, of its sources only', async () => {
    await commitRecords('placement', [{ account: 'A1', data: placementData }, { account: 'A2', data: placementData }]);
    await commitRecords('placement', [{ account: 'B1', data: placementData }], { source: 'globex' });
    clock.advance(hourMs);
    const recalledAt = iso();
    await commitRecords('recall', [{ account: 'A1' }, { account: 'A2' }]);
    clock.advance(hourMs);
    await commitRecords('recall', [{ account: 'B1' }], { source: 'globex' });
    const recallSeqs = await store.releaseFeed({ sources: null, afterSeq: 0, limit: 100 }, (evs) => ({ result: evs.filter((e) => e.type === 'account.recalled').map((e) => e.seq), audit: [] }));
    expect(recallSeqs).toHaveLength(3);
    await store.acknowledgeFeed('r3', recallSeqs[0]!);

    const before = new Date(now() + 1).toISOString();
    expect(await store.overdueRecalls([
      { id: 'r1', sources: null },
      { id: 'r2', sources: ['acme'] },
      { id: 'r3', sources: ['acme'] },
      { id: 'r4', sources: ['nobody'] },
    ], before)).toEqual([
      { recipient: 'r1', count: 3, oldestAt: recalledAt },
      { recipient: 'r2', count: 2, oldestAt: recalledAt },
      { recipient: 'r3', count: 1, oldestAt: recalledAt },
      { recipient: 'r4', count: 0, oldestAt: null },
    ]);
    expect(await store.overdueRecalls([{ id: 'r1', sources: null }], recalledAt)).toEqual([{ recipient: 'r1', count: 0, oldestAt: null }]);
  });

  it('saves a policy version once, audited once', async () => {
    expect(await store.savePolicy('v1', '{"grants":[]}', draft('policy.saved', 'v1'))).toBe(true);
    expect(await store.savePolicy('v1', '{"grants":["changed"]}', draft('policy.saved', 'v1'))).toBe(false);
    expect(await store.getPolicy('v1')).toBe('{"grants":[]}');
    expect(await store.getPolicy('v2')).toBeNull();
    expect((await store.readAudit(1, 10)).map((e) => e.action)).toEqual(['policy.saved']);
  });

  // ---- API and SFTP bookkeeping --------------------------------------------------------------

  it('binds an idempotency key to its first body and receipt', async () => {
    const a = newFile();
    const b = newFile();
    await store.receiveFile(a, draft('file.received', a.receiptId));
    await store.receiveFile(b, draft('file.received', b.receiptId));
    expect(await store.findIdempotencyKey('source:acme', 'k1')).toBeNull();
    expect(await store.claimIdempotencyKey('source:acme', 'k1', 'hash-1', a.receiptId)).toBeNull();
    expect(await store.claimIdempotencyKey('source:acme', 'k1', 'hash-2', b.receiptId)).toEqual({ bodySha256: 'hash-1', receiptId: a.receiptId });
    expect(await store.findIdempotencyKey('source:acme', 'k1')).toEqual({ bodySha256: 'hash-1', receiptId: a.receiptId });
    expect(await store.claimIdempotencyKey('source:globex', 'k1', 'hash-2', b.receiptId)).toBeNull();
  });

  it('resumes an open SFTP delivery of the same remote file, and begins a new one once it is finished', async () => {
    const fence = (await store.acquireSourceLease('acme', 'poller-1', now(), 60_000))!;
    const remote = { source: 'acme', remotePath: '/out/placements-1.csv.gpg', kind: 'placement' as const, sizeBytes: 4096, mtimeMs: 1_740_000_000_123 };
    const d1 = await store.beginSftpDelivery(remote, fence);
    expect(d1).toMatchObject({ ...remote, receiptId: null, ackWritten: false, finishedAt: null });
    expect((await store.beginSftpDelivery(remote, fence)).id).toBe(d1.id);
    const d2 = await store.beginSftpDelivery({ ...remote, sizeBytes: 5000 }, fence);
    expect(d2.id).not.toBe(d1.id);

    const file = newFile();
    await store.receiveFile(file, draft('file.received', file.receiptId));
    await store.linkSftpDelivery(d1.id, file.receiptId, fence);
    await store.markSftpAckWritten(d1.id, fence);
    expect(await store.unfinishedSftpDeliveries('acme')).toEqual([{ ...d1, receiptId: file.receiptId, ackWritten: true }, d2]);
    expect(await store.unfinishedSftpDeliveries('globex')).toEqual([]);
    expect((await store.findLiveFile('acme', file.sha256))?.receiptId).toBe(file.receiptId);

    await store.finishSftpDelivery(d1.id, fence);
    expect((await store.unfinishedSftpDeliveries('acme')).map((d) => d.id)).toEqual([d2.id]);
    const d3 = await store.beginSftpDelivery(remote, fence);
    expect(d3.id).not.toBe(d1.id);
    expect(d3.receiptId).toBeNull();
  });

  it('lets one replica at a time poll a source, and fences every delivery step of a replica whose lease lapsed', async () => {
    const other = await backend.openAnother();
    const remote = { source: 'acme', remotePath: '/out/p.csv.gpg', kind: 'placement' as const, sizeBytes: 10, mtimeMs: 1_740_000_000_000 };
    const [a, b] = await Promise.all([store.acquireSourceLease('acme', 'replica-a', now(), 10_000), other.acquireSourceLease('acme', 'replica-b', now(), 10_000)]);
    expect([a, b].filter((l) => l !== null)).toHaveLength(1);
    const holder = (a ?? b)!;
    const [held, waiting, waitingId] = a !== null ? [store, other, 'replica-b'] : [other, store, 'replica-a'];
    expect(holder.token).toBe(1);
    // Another source is free; the holder renews and keeps its token.
    expect(await waiting.acquireSourceLease('globex', waitingId, now(), 10_000)).toMatchObject({ source: 'globex', token: 1 });
    clock.advance(6_000);
    expect(await held.acquireSourceLease('acme', holder.owner, now(), 10_000)).toEqual(holder);
    clock.advance(9_000);
    expect(await waiting.acquireSourceLease('acme', waitingId, now(), 10_000)).toBeNull();
    const delivery = await held.beginSftpDelivery(remote, holder);

    // The holder stalls past its lease: the other replica takes the source with a new token ...
    clock.advance(10_001);
    const taken = await waiting.acquireSourceLease('acme', waitingId, now(), 10_000);
    expect(taken).toEqual({ source: 'acme', owner: waitingId, token: 2 });
    // ... and nothing the stalled holder records counts any more, nor can it renew.
    for (const step of [
      () => held.beginSftpDelivery({ ...remote, sizeBytes: 11 }, holder),
      () => held.linkSftpDelivery(delivery.id, 'rcpt-x', holder),
      () => held.markSftpAckWritten(delivery.id, holder),
      () => held.finishSftpDelivery(delivery.id, holder),
    ]) await expect(step()).rejects.toMatchObject({ code: 'SFTP_LEASE_LOST' });
    expect(await held.acquireSourceLease('acme', holder.owner, now(), 10_000)).toBeNull();
    expect(await waiting.unfinishedSftpDeliveries('acme')).toEqual([delivery]);
    await waiting.finishSftpDelivery(delivery.id, taken!);

    // A lease that lapsed with nobody taking it fences its holder too, who starts again under a new token.
    clock.advance(10_001);
    await expect(waiting.markSftpAckWritten(delivery.id, taken!)).rejects.toMatchObject({ code: 'SFTP_LEASE_LOST' });
    const again = await waiting.acquireSourceLease('acme', waitingId, now(), 10_000);
    expect(again?.token).toBe(3);
    expect(await store.listSourceLeases(now())).toEqual([{ source: 'acme', owner: waitingId, token: 3, untilMs: now() + 10_000 }]);
    // Released on a clean stop: the other replica takes it at once, and the token still grows.
    await waiting.releaseSourceLease(again!);
    expect(await store.listSourceLeases(now())).toEqual([]);
    expect(await held.acquireSourceLease('acme', holder.owner, now(), 10_000)).toMatchObject({ token: 4 });
  });

  it('counts live replicas by heartbeat, and keeps each replica to its share of the sources', async () => {
    expect(await store.heartbeat('replica-a', now(), 10_000)).toBe(1);
    // Replica a alone: its share is both sources.
    expect(await store.acquireSourceLease('acme', 'replica-a', now(), 10_000, 2)).toMatchObject({ token: 1 });
    expect(await store.acquireSourceLease('globex', 'replica-a', now(), 10_000, 2)).toMatchObject({ token: 1 });
    // Replica b arrives: each share is one source. b gets none while a holds both; a hands one over
    // at its next renewal under the new share, and b takes it.
    expect(await store.heartbeat('replica-b', now(), 10_000)).toBe(2);
    expect(await store.acquireSourceLease('acme', 'replica-b', now(), 10_000, 1)).toBeNull();
    expect(await store.acquireSourceLease('globex', 'replica-a', now(), 10_000, 1)).toBeNull();
    expect(await store.acquireSourceLease('acme', 'replica-a', now(), 10_000, 1)).toMatchObject({ token: 1 });
    expect(await store.acquireSourceLease('globex', 'replica-b', now(), 10_000, 1)).toEqual({ source: 'globex', owner: 'replica-b', token: 2 });
    expect(await store.acquireSourceLease('acme', 'replica-b', now(), 10_000, 1)).toBeNull();
    // A replica that leaves (ttl 0) or whose heartbeat lapses no longer counts.
    expect(await store.heartbeat('replica-b', now(), 0)).toBe(1);
    clock.advance(10_001);
    expect(await store.heartbeat('replica-c', now(), 10_000)).toBe(1);
  });

  it('claims the next unfinished file for each worker in turn, skipping live leases, exclusions and final files', async () => {
    const other = await backend.openAnother();
    const files = [newFile(), newFile(), newFile()];
    for (const f of files) {
      await store.receiveFile(f, draft('file.received', f.receiptId));
      clock.advance(1_000);
    }
    await commitRecords('placement', [{ account: 'A1' }]);
    // Two replicas at once get different files (PostgreSQL: SKIP LOCKED; SQLite: the write lock).
    const [x, y] = await Promise.all([
      store.claimNextFile('worker-a', now(), 60_000, () => false, []),
      other.claimNextFile('worker-b', now(), 60_000, () => false, []),
    ]);
    expect(new Set([x!.file.receiptId, y!.file.receiptId])).toEqual(new Set([files[0]!.receiptId, files[1]!.receiptId]));
    expect(x).toMatchObject({ file: { state: 'processing', leaseOwner: 'worker-a', leaseToken: 1 }, lease: { owner: 'worker-a', token: 1 } });
    expect(await store.claimNextFile('worker-c', now(), 60_000, () => false, [files[2]!.receiptId])).toBeNull();
    expect((await store.claimNextFile('worker-c', now(), 60_000, () => false, []))!.file.receiptId).toBe(files[2]!.receiptId);
    expect(await store.claimNextFile('worker-f', now(), 60_000, () => false, [])).toBeNull();
    // A dead owner's file is claimable at once, an expired lease's after its end; the fence moves on.
    const dead = await store.claimNextFile('worker-d', now(), 60_000, (owner) => owner === y!.lease.owner, []);
    expect(dead).toMatchObject({ file: { receiptId: y!.file.receiptId }, lease: { owner: 'worker-d', token: 2 } });
    clock.advance(60_001);
    const expired = await store.claimNextFile('worker-e', now(), 60_000, () => false, [dead!.file.receiptId]);
    expect(expired?.file.receiptId).toBe(x!.file.receiptId);
    expect(expired?.lease.token).toBe(2);
  });

  // ---- officers: erasure and retention -------------------------------------------------------

  it('erases a subject: the data key is gone, the accounts release nothing, the erasure is audited', async () => {
    const receipt = await commitRecords('placement', [{ account: 'A1', subject: 'S1', data: placementData, vault: Buffer.from('v') }], { keys: new Map([['S1', Buffer.from('wrapped')]]) });
    clock.advance(1_000);
    const { lease } = await receiveAndClaim();
    await store.stage(lease, staged('placement', [{ account: 'A9', subject: 'S1' }]), [], new Map([['S1', Buffer.from('staged-again')]]));
    expect(await store.subjectKeyConflicts(lease.receiptId)).toHaveLength(1);

    const held = await store.subjectHoldings('S1');
    expect(held).toMatchObject({ subjectToken: 'S1', erasedAt: null, wrappedKey: Buffer.from('wrapped'), accounts: [{ accountToken: 'A1', source: 'acme', placement: { receiptId: receipt, recordNo: 1 } }] });
    expect(held!.files.map((f) => f.receiptId)).toEqual([receipt, lease.receiptId]);
    expect(await store.subjectHoldings('nobody')).toBeNull();
    const headBefore = (await store.auditHead()).seq;
    expect(await store.eraseSubject('nobody', 'officer:o1', iso(), draft('subject.erased', 'nobody', {}, 'officer:o1'))).toBeNull();
    expect((await store.auditHead()).seq).toBe(headBefore);

    const at = iso();
    expect(await store.eraseSubject('S1', 'officer:o1', at, draft('subject.erased', 'S1', {}, 'officer:o1'))).toEqual(held!.files);
    expect(await store.getSubjectKeys(['S1'])).toEqual(new Map());
    expect(await store.subjectKeyConflicts(lease.receiptId)).toEqual([]);
    expect(await store.subjectHoldings('S1')).toMatchObject({ erasedAt: at, wrappedKey: null });
    expect((await factsOf(['A1'])).get('A1')).toMatchObject({ erased: true, wrappedKey: null });
    expect(await store.queryAudit({ subjectToken: 'S1', limit: 5 })).toEqual([expect.objectContaining({ action: 'subject.erased', seq: headBefore + 1 })]);
    // Erasing again is harmless: the first erasure time stays.
    clock.advance(hourMs);
    await store.eraseSubject('S1', 'officer:o2', iso(), draft('subject.erased', 'S1', {}, 'officer:o2'));
    expect((await store.subjectHoldings('S1'))?.erasedAt).toBe(at);
  });

  it('finds spools and findings past retention, and clears the vaults of accounts recalled long ago', async () => {
    const { file: committed, lease } = await receiveAndClaim();
    await store.stage(lease, staged('placement', [{ account: 'A1', subject: 'S1', data: placementData, vault: Buffer.from('v1') }]), [{ record: 2, code: 'FIELD_REQUIRED', field: 'x', message: '', severity: 'warning' }]);
    await store.commitFile(lease, '{}', iso(), draft('file.committed', committed.receiptId));
    clock.advance(60_000);
    const { file: rejected, lease: rl } = await receiveAndClaim();
    await store.rejectFile(rl, '{}', 'OPEN_DECRYPT_FAILED', iso(), draft('file.rejected', rejected.receiptId));
    clock.advance(60_000);
    await commitRecords('update', [{ account: 'A1', subject: 'S1', data: { update_type: 'balance' }, vault: Buffer.from('v2') }]);
    await receiveAndClaim();
    clock.advance(hourMs);
    const recall = await commitRecords('recall', [{ account: 'A1', subject: 'S1' }]);
    const recalledAt = (await store.getFile(recall))!.finishedAt!;

    const cutoff = new Date(t0 + 90_000).toISOString();
    expect(await store.spoolsToPurge(cutoff, 10)).toEqual([
      { receiptId: committed.receiptId, spoolPath: committed.spoolPath },
      { receiptId: rejected.receiptId, spoolPath: rejected.spoolPath },
    ]);
    expect(await store.spoolsToPurge(cutoff, 1)).toHaveLength(1);
    await store.markSpoolPurged([committed.receiptId], iso());
    expect(await store.spoolsToPurge(cutoff, 10)).toEqual([{ receiptId: rejected.receiptId, spoolPath: rejected.spoolPath }]);
    expect((await store.subjectHoldings('S1'))?.files.find((f) => f.receiptId === committed.receiptId)?.spoolPurgedAt).toBe(iso());

    expect(await store.purgeFindings(new Date(t0 - 1).toISOString())).toBe(0);
    expect(await store.findingCounts(committed.receiptId)).toMatchObject({ warnings: 1 });
    expect(await store.purgeFindings(cutoff)).toBe(1);
    expect(await store.findingCounts(committed.receiptId)).toMatchObject({ warnings: 0 });

    expect(await store.purgeRecalledAccounts(recalledAt, iso())).toBe(0);
    const purgedAt = iso();
    expect(await store.purgeRecalledAccounts(new Date(Date.parse(recalledAt) + 1).toISOString(), purgedAt)).toBe(1);
    expect(await store.purgeRecalledAccounts(new Date(Date.parse(recalledAt) + dayMs).toISOString(), purgedAt)).toBe(0);
    expect((await store.listRecords(committed.receiptId, 1))[0]!.vault).toBeNull();
    const facts = (await factsOf(['A1'])).get('A1')!;
    expect(facts.placementVault).toBeNull();
    expect(facts.updates).toEqual([{ data: '{"update_type":"balance"}', vault: null }]);
    expect((await store.subjectHoldings('S1'))?.accounts[0]?.purgedAt).toBe(purgedAt);
  });

  // ---- schema ------------------------------------------------------------------------------

  it('refuses a database whose schema is newer than the code, and answers ping', async () => {
    await store.ping();
    const latest = sqliteMigrations[sqliteMigrations.length - 1]!.version;
    await backend.markSchemaNewer(latest + 1);
    await expect(backend.openAnother()).rejects.toMatchObject({ code: 'STORE_SCHEMA_TOO_NEW', details: { databaseVersion: latest + 1, codeVersion: latest } });
  });
});
