import type { RecordKind } from '../config/types.js';
import type { Deps } from '../deps.js';
import { rejection } from '../errors/gateway-error.js';
import type { RawRecord } from '../parse/read-records.js';
import type { AccountState, Lease, StagedFinding, StagedRecord, SubjectKeyConflict } from '../store/store.js';
import { addDropped, prepareBatch, type PrepareContext, type PreparedBatch, type PreparedRecord } from './prepare-batch.js';

export interface BatchContext extends PrepareContext {
  lease: Lease;
  /** Field → records it was dropped from; grows as batches pass. */
  dropped: Map<string, number>;
  /** Data keys made for this file's new subjects (bounded; see Vault.dataKeys). */
  pendingKeys: Map<string, Buffer>;
}

/**
 * Validate → minimise → tokenise → vault → stage, for one batch of raw records. Rejections and
 * warnings are staged as findings; nothing here is visible to anyone until the file commits.
 */
export async function processBatch(deps: Deps, batch: readonly RawRecord[], ctx: BatchContext): Promise<void> {
  await writeBatch(deps, ctx, await sealBatch(deps, prepareBatch(batch, ctx, deps), ctx));
}

/** A batch ready to be staged: records sealed, findings in record order, the data keys it made. */
export interface SealedBatch {
  readonly records: StagedRecord[];
  readonly findings: StagedFinding[];
  readonly created: Map<string, Buffer>;
}

/** Stages a sealed batch under the file's lease. */
export async function writeBatch(deps: Deps, ctx: BatchContext, batch: SealedBatch): Promise<void> {
  await deps.store.stage(ctx.lease, batch.records, batch.findings, batch.created);
}

/**
 * The store-bound half of processBatch, for a batch prepared here or on the worker thread: looks up
 * the accounts, finds or makes the subjects' data keys and seals the vaulted values, ready to write.
 */
export async function sealBatch(deps: Deps, prepared: PreparedBatch, ctx: BatchContext): Promise<SealedBatch> {
  addDropped(ctx.dropped, prepared.dropped);
  const findings: StagedFinding[] = prepared.findings;
  const accounts = await deps.store.findAccounts(prepared.records.flatMap((r) => r.accountCandidates));

  const ready: Array<{ r: PreparedRecord; accountToken: string; subjectToken: string | null; sealedAt: number }> = [];
  const toSeal: Array<{ subjectToken: string; vault: string }> = [];
  for (const r of prepared.records) {
    const existing = r.accountCandidates.map((t) => accounts.get(t)).find((a): a is AccountState => a !== undefined);
    const problem = accountProblem(ctx.kind, r.facts.delinquencyDate, existing);
    if (problem !== null) {
      findings.push({ ...rejection(r.recordNo, problem.code, problem.field), severity: 'error' });
      continue;
    }
    const accountToken = existing?.accountToken ?? r.accountCandidates[0]!;
    const subjectToken = ctx.kind === 'placement' ? r.placementSubject : existing?.subjectToken ?? null;
    const sealedAt = subjectToken !== null && r.vault !== null ? toSeal.push({ subjectToken, vault: r.vault }) - 1 : -1;
    ready.push({ r, accountToken, subjectToken, sealedAt });
    for (const w of r.warnings) findings.push({ ...w, severity: 'warning' });
  }

  const { keys: dataKeys, created } = await deps.vault.dataKeys(toSeal.map((x) => x.subjectToken), ctx.pendingKeys);
  const sealed = toSeal.map((x) => deps.vault.sealJson(dataKeys.get(x.subjectToken)!, x.subjectToken, x.vault));
  const staged: StagedRecord[] = ready.map(({ r, accountToken, subjectToken, sealedAt }) => ({
    recordNo: r.recordNo,
    kind: ctx.kind,
    accountToken,
    subjectToken,
    data: r.data,
    vault: sealedAt < 0 ? null : sealed[sealedAt]!,
    ...r.facts,
  }));

  findings.sort((a, b) => a.record - b.record);
  return { records: staged, findings, created };
}

/**
 * Before the commit: where this file's key for a subject lost to a key committed meanwhile by another
 * file, or the file made two keys for one subject, reseal the affected records under the key kept.
 */
export async function settleSubjectKeys(deps: Deps, lease: Lease): Promise<void> {
  const conflicts = await deps.store.subjectKeyConflicts(lease.receiptId);
  // A few subjects at a time: the records to reseal then stay in memory a slice at a time, however
  // many subjects a large file met twice. Each subject is settled whole within its slice.
  for (let i = 0; i < conflicts.length; i += settleSubjectsPerStep) {
    await settleSubjectSlice(deps, lease, conflicts.slice(i, i + settleSubjectsPerStep));
  }
}

/**
 * Subjects resealed per store call in settleSubjectKeys: about 8k records (two per subject) of a few
 * hundred bytes in memory at once. Not smaller: each call scans the file's staged records once.
 */
const settleSubjectsPerStep = 4096;

async function settleSubjectSlice(deps: Deps, lease: Lease, conflicts: readonly SubjectKeyConflict[]): Promise<void> {
  const keep = new Map<string, Buffer | null>();
  const final = new Map<string, { wrapped: Buffer; candidates: Buffer[] }>();
  for (const c of conflicts) {
    const wrapped = c.committed ?? c.staged[0]!;
    keep.set(c.subjectToken, c.committed === null ? wrapped : null);
    final.set(c.subjectToken, { wrapped, candidates: c.staged.filter((k) => !k.equals(wrapped)) });
  }
  const resealed: Array<{ recordNo: number; vault: Buffer }> = [];
  for (const r of await deps.store.recordsOfSubjects(lease.receiptId, [...final.keys()])) {
    if (r.vault === null) continue;
    const { wrapped, candidates } = final.get(r.subjectToken)!;
    const opened = [wrapped, ...candidates].map((k) => tryOpen(deps, k, r.subjectToken, r.vault!)).find((v) => v !== null);
    if (opened === undefined) throw new Error('a staged record opens under none of its subject keys');
    resealed.push({ recordNo: r.recordNo, vault: deps.vault.sealWithWrapped(wrapped, r.subjectToken, opened.values) });
  }
  await deps.store.settleSubjectKeys(lease, resealed, keep);
}

function tryOpen(deps: Deps, wrapped: Buffer, subjectToken: string, sealed: Buffer): { values: Record<string, string> } | null {
  try {
    return { values: deps.vault.openWithWrapped(wrapped, subjectToken, sealed) };
  } catch {
    return null;
  }
}

/** After the last batch: a second placement or recall of the same account in one file is rejected. */
export async function rejectRepeatedAccounts(deps: Deps, lease: Lease): Promise<void> {
  const repeated = await deps.store.rejectDuplicateAccounts(lease);
  if (repeated.length === 0) return;
  await deps.store.stage(lease, [], repeated.map((n) => ({ ...rejection(n, 'ACCOUNT_REF_DUPLICATE', 'account_ref'), severity: 'error' as const })));
}


function accountProblem(kind: RecordKind, delinquencyDate: string | null, existing: AccountState | undefined): { code: 'RECALL_UNKNOWN_ACCOUNT' | 'UPDATE_UNKNOWN_ACCOUNT' | 'ACCOUNT_RECALLED' | 'DELINQUENCY_DATE_CHANGED'; field: string } | null {
  switch (kind) {
    case 'recall':
      return existing === undefined ? { code: 'RECALL_UNKNOWN_ACCOUNT', field: 'account_ref' } : null;
    case 'update':
      if (existing === undefined) return { code: 'UPDATE_UNKNOWN_ACCOUNT', field: 'account_ref' };
      return existing.status === 'recalled' ? { code: 'ACCOUNT_RECALLED', field: 'account_ref' } : null;
    case 'placement':
      // Regulation F and credit reporting depend on the date of first delinquency: it never moves.
      if (existing !== undefined && existing.delinquencyDate !== delinquencyDate) {
        return { code: 'DELINQUENCY_DATE_CHANGED', field: 'delinquency_date' };
      }
      return null;
  }
}
