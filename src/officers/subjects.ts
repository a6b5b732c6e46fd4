import { rm } from 'node:fs/promises';
import type { Deps } from '../deps.js';
import { GatewayError } from '../errors/gateway-error.js';
import { releasableFields } from '../release/fields.js';
import { foldSubjectEvents } from '../release/subject-state.js';
import type { SubjectHoldings } from '../store/store.js';

const nationalIdTypes = ['us_ssn', 'cn_ric', 'gb_nino', 'other'] as const;

/**
 * The subject token behind what an officer has: a token (the gateway's own, as reports and the log
 * show it) or a national id with its type. A national id is tried as given and in its usual forms
 * (digits only, with SSN dashes), under every token key version.
 */
export async function findSubject(deps: Deps, query: { token?: string; nationalId?: string; type?: string }): Promise<string | null> {
  if (query.token !== undefined) return (await deps.store.subjectHoldings(query.token)) === null ? null : query.token;
  if (query.nationalId === undefined) throw new GatewayError('USAGE_INVALID', { reason: 'give a subject token, or a national id and its type' });
  const type = query.type ?? 'us_ssn';
  if (!(nationalIdTypes as readonly string[]).includes(type)) throw new GatewayError('USAGE_INVALID', { reason: `type must be one of ${nationalIdTypes.join(', ')}` });
  const raw = query.nationalId.trim();
  const compact = raw.replace(/[\s-]/g, '').toUpperCase();
  const forms = new Set([raw, compact, /^\d{9}$/.test(compact) ? `${compact.slice(0, 3)}-${compact.slice(3, 5)}-${compact.slice(5)}` : compact]);
  for (const form of forms) {
    for (const token of deps.tokeniser.internalAllVersions('national_id', `${type}:${form}`)) {
      if ((await deps.store.subjectHoldings(token)) !== null) return token;
    }
  }
  return null;
}

/** A subject report (GDPR Art. 15, PIPL Art. 45): what is held, from where, since when; who received what; restrictions now. */
export interface SubjectReport {
  subject: string;
  generated_at: string;
  erased_at: string | null;
  held: Array<{
    account: string; source: string; status: string; since: string; retention_purged_at: string | null;
    file: { receipt_id: string; file_name: string; record: number };
    fields: { stored: string[]; tokenised: string[]; encrypted: string[] | 'erased' };
    updates: number;
  }>;
  restrictions: Record<string, string>;
  consents: Record<string, string>;
  consent_version: number;
  history: Array<{ at: string; field: string; value: string; origin: string }>;
  releases: Array<{ seq: number; at: string; recipient: string; action: string; purpose: string; route: string; released: string[]; withheld: Record<string, string> }>;
  files: Array<{ receipt_id: string; source: string; state: string; spool: 'held' | 'purged' }>;
}

/**
 * Builds the report from tokens, field names, files and the audit log. It names the fields held, not
 * their values: an officer hands it over after verifying the person; values come from the vault only
 * through a recipient's granted reveal. Reading it is itself audited.
 */
export async function subjectReport(deps: Deps, subjectToken: string, officer: string): Promise<SubjectReport> {
  const h = await deps.store.subjectHoldings(subjectToken);
  if (h === null) throw new GatewayError('NOT_FOUND');
  const state = foldSubjectEvents(h.subjectEvents);
  const entries = await deps.store.queryAudit({ subjectToken, limit: 10_000 });
  const releases: SubjectReport['releases'] = [];
  for (const e of entries.reverse()) {
    const items = (e.details.items as Array<{ subject?: string; released?: string[]; withheld?: Record<string, string> }> | undefined) ?? [];
    for (const item of items.filter((i) => i.subject === subjectToken)) {
      releases.push({
        seq: e.seq, at: e.at, recipient: e.actor.replace(/^recipient:/, ''), action: e.action, purpose: stringOf(e.details.purpose), route: stringOf(e.details.route),
        released: item.released ?? [], withheld: item.withheld ?? {},
      });
    }
  }
  const report: SubjectReport = {
    subject: subjectToken,
    generated_at: deps.clock.now().toISOString(),
    erased_at: h.erasedAt,
    held: h.accounts.map((a) => ({
      account: a.accountToken, source: a.source, status: a.status, since: a.placement.receivedAt, retention_purged_at: a.purgedAt,
      file: { receipt_id: a.placement.receiptId, file_name: a.placement.fileName, record: a.placement.recordNo },
      fields: heldFields(deps, h, a.placement.data, a.placement.vault),
      updates: a.updates,
    })),
    restrictions: state.restrictions,
    consents: state.consents,
    consent_version: state.version,
    history: h.subjectEvents.map((e) => ({ at: e.at, field: e.field, value: e.value, origin: e.origin })),
    releases,
    files: h.files.map((f) => ({ receipt_id: f.receiptId, source: f.source, state: f.state, spool: f.spoolPurgedAt === null ? 'held' : 'purged' })),
  };
  await deps.store.appendAudit([{ actor: `officer:${officer}`, action: 'subject.report', target: subjectToken, details: { accounts: report.held.length, releases: releases.length } }]);
  return report;
}

/** The names of the fields held for one account: kept in clear, tokenised, and encrypted in the vault. */
function heldFields(deps: Deps, h: SubjectHoldings, data: string, vault: Buffer | null): SubjectReport['held'][number]['fields'] {
  const kept = Object.keys(JSON.parse(data) as Record<string, string>);
  const tokenised = kept.filter((k) => k.endsWith('_token')).map((k) => k.slice(0, -'_token'.length));
  const stored = kept.filter((k) => !k.endsWith('_token'));
  if (vault === null) return { stored, tokenised, encrypted: [] };
  if (h.wrappedKey === null) return { stored, tokenised, encrypted: 'erased' };
  // Opened only to list the names; no value leaves this function.
  const names = Object.keys(deps.vault.open(deps.vault.keyOf(h.subjectToken, h.wrappedKey), h.subjectToken, vault));
  return { stored, tokenised, encrypted: names.filter((n) => n in releasableFields || n.endsWith('_last4')) };
}

export interface ErasureResult {
  subject: string;
  erased_at: string;
  accounts: number;
  /** Spooled files that held the subject and were deleted. */
  spool_purged: string[];
  /** Files still being processed: their spooled copies are deleted by retention once they finish. */
  spool_pending: string[];
}

/**
 * Erasure by crypto-shredding: the subject's data key is destroyed (and overwritten in the database
 * file), so every vaulted value of the subject, in every record and every backup of the database, is
 * unreadable; its accounts release nothing from then on. Tokens and the audit chain stay intact (they
 * hold no value). Spooled raw files that held the subject are deleted when finished. Audited.
 */
export async function eraseSubject(deps: Deps, subjectToken: string, officer: string): Promise<ErasureResult> {
  const at = deps.clock.now().toISOString();
  const holdings = await deps.store.subjectHoldings(subjectToken);
  if (holdings === null) throw new GatewayError('NOT_FOUND');
  const files = await deps.store.eraseSubject(subjectToken, `officer:${officer}`, at, {
    actor: `officer:${officer}`, action: 'subject.erased', target: subjectToken, details: { accounts: holdings.accounts.length, files: holdings.files.length },
  });
  if (files === null) throw new GatewayError('NOT_FOUND');
  const finished = files.filter((f) => f.spoolPurgedAt === null && ['committed', 'rejected', 'duplicate'].includes(f.state));
  for (const f of finished) await rm(f.spoolPath, { force: true });
  await deps.store.markSpoolPurged(finished.map((f) => f.receiptId), at);
  if (finished.length > 0) {
    await deps.store.appendAudit([{ actor: `officer:${officer}`, action: 'spool.purged', target: subjectToken, details: { reason: 'erasure', receipts: finished.map((f) => f.receiptId) } }]);
  }
  return {
    subject: subjectToken, erased_at: at, accounts: holdings.accounts.length,
    spool_purged: finished.map((f) => f.receiptId),
    spool_pending: files.filter((f) => f.spoolPurgedAt === null && !finished.includes(f)).map((f) => f.receiptId),
  };
}

function stringOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
