import type { KeyObject } from 'node:crypto';
import type { RecordKind } from '../config/types.js';
import type { Deps } from '../deps.js';
import { rejection } from '../errors/gateway-error.js';
import { minimise, type MinimisedRecord } from '../minimise/minimise.js';
import type { RawRecord } from '../parse/read-records.js';
import type { AccountState, Lease, StagedFinding, StagedRecord, SubjectKeyConflict } from '../store/store.js';
import { subjectOf, tokenValue } from '../tokenise/subject.js';
import type { TokenDomain } from '../tokenise/tokens.js';
import { validateRecord } from '../validate/record.js';

export interface BatchContext {
  source: string;
  kind: RecordKind;
  lease: Lease;
  /** Field → records it was dropped from; grows as batches pass. */
  dropped: Map<string, number>;
  today: Date;
  /** Data keys made for this file's new subjects (bounded; see Vault.dataKeys). */
  pendingKeys: Map<string, KeyObject>;
}

/**
 * Validate → minimise → tokenise → vault → stage, for one batch of raw records. Rejections and
 * warnings are staged as findings; nothing here is visible to anyone until the file commits.
 */
export async function processBatch(deps: Deps, batch: readonly RawRecord[], ctx: BatchContext): Promise<void> {
  const findings: StagedFinding[] = [];
  const addFinding = (severity: StagedFinding['severity']) => (r: ReturnType<typeof rejection>) => findings.push({ ...r, severity });

  const minimised: MinimisedRecord[] = [];
  for (const raw of batch) {
    if (raw.malformed === true) {
      addFinding('error')(rejection(raw.recordNo, 'RECORD_MALFORMED'));
      continue;
    }
    const result = validateRecord(ctx.kind, raw, ctx.today);
    if (!result.ok) {
      result.errors.forEach(addFinding('error'));
      result.warnings.forEach(addFinding('warning'));
      continue;
    }
    minimised.push(minimise(result.record, deps.policy, ctx.dropped));
  }

  // Accounts this batch refers to, under every token key version (a rotation must not orphan them).
  const candidates = minimised.map((m) => deps.tokeniser.internalAllVersions('account', accountValue(ctx.source, m.accountRef)));
  const accounts = await deps.store.findAccounts(candidates.flat());

  const ready: Array<{ m: MinimisedRecord; accountToken: string; subjectToken: string | null; tokens: Record<string, string> }> = [];
  minimised.forEach((m, i) => {
    const existing = candidates[i]!.map((t) => accounts.get(t)).find((a): a is AccountState => a !== undefined);
    const problem = accountProblem(ctx.kind, m, existing);
    if (problem !== null) {
      findings.push({ ...rejection(m.recordNo, problem.code, problem.field), severity: 'error' });
      return;
    }
    const accountToken = existing?.accountToken ?? candidates[i]![0]!;
    const tokens: Record<string, string> = {};
    for (const [field, value] of Object.entries(m.tokenise)) tokens[`${field}_token`] = deps.tokeniser.internal(field as TokenDomain, tokenValue(field, value, m));
    let subjectToken = existing?.subjectToken ?? null;
    if (ctx.kind === 'placement') {
      const subject = subjectOf(m, tokens.national_id_token);
      subjectToken = 'token' in subject ? subject.token : deps.tokeniser.internal(subject.domain, accountValue(ctx.source, subject.value));
    }
    ready.push({ m, accountToken, subjectToken, tokens });
    m.warnings.forEach(addFinding('warning'));
  });

  const needKeys = ready.filter((r) => r.subjectToken !== null && Object.keys(r.m.vault).length > 0).map((r) => r.subjectToken!);
  const { keys: dataKeys, created } = await deps.vault.dataKeys(needKeys, ctx.pendingKeys);

  const staged: StagedRecord[] = ready.map(({ m, accountToken, subjectToken, tokens }) => {
    const data: Record<string, string> = { ...m.keep, ...m.last4Clear, ...tokens };
    const hasVault = subjectToken !== null && Object.keys(m.vault).length > 0;
    return {
      recordNo: m.recordNo,
      kind: ctx.kind,
      accountToken,
      subjectToken,
      data: JSON.stringify(data),
      vault: hasVault ? deps.vault.seal(dataKeys.get(subjectToken)!, subjectToken, m.vault) : null,
    };
  });

  findings.sort((a, b) => a.record - b.record);
  await deps.store.stage(ctx.lease, staged, findings, created);
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

/** An account is identified by its source and the creditor's reference. */
export function accountValue(source: string, accountRef: string): string {
  return `${source}\0${accountRef}`;
}

function accountProblem(kind: RecordKind, m: MinimisedRecord, existing: AccountState | undefined): { code: 'RECALL_UNKNOWN_ACCOUNT' | 'UPDATE_UNKNOWN_ACCOUNT' | 'ACCOUNT_RECALLED' | 'DELINQUENCY_DATE_CHANGED'; field: string } | null {
  switch (kind) {
    case 'recall':
      return existing === undefined ? { code: 'RECALL_UNKNOWN_ACCOUNT', field: 'account_ref' } : null;
    case 'update':
      if (existing === undefined) return { code: 'UPDATE_UNKNOWN_ACCOUNT', field: 'account_ref' };
      return existing.status === 'recalled' ? { code: 'ACCOUNT_RECALLED', field: 'account_ref' } : null;
    case 'placement':
      // Regulation F and credit reporting depend on the date of first delinquency: it never moves.
      if (existing !== undefined && existing.delinquencyDate !== m.keep.delinquency_date) {
        return { code: 'DELINQUENCY_DATE_CHANGED', field: 'delinquency_date' };
      }
      return null;
  }
}
