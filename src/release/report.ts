import type { Store } from '../store/store.js';
import type { Clock } from '../lib/clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import { consentFields, restrictionFields } from './subject-state.js';
import type { Reader, ReleaseView } from './view.js';

export interface ReportedChange {
  restrictions?: Record<string, unknown>;
  consents?: Record<string, unknown>;
  effective_date?: unknown;
}

/**
 * A recipient reports what it learned of a subject (a cease letter, an attorney's notice, an e-mail
 * opt-out, a recorded consent). It applies to every recipient at once, appears in their feeds, and
 * is audited. Recipients may add restrictions and record consents; lifting a restriction is the
 * creditor's to do, with an update file, because it reopens contact.
 */
export async function reportSubjectChange(
  d: { store: Store; clock: Clock; release: ReleaseView },
  reader: Reader, recipientSubjectToken: string, body: ReportedChange,
): Promise<{ subject: string; consent_version: number; accounts: number; applied: Record<string, string> }> {
  await d.release.grantOf(reader);
  const changes = checkChanges(body);
  const subject = d.release.resolve(reader, recipientSubjectToken);
  if (subject === null) return d.release.refuse(reader, 'NOT_FOUND');
  const effectiveDate = typeof body.effective_date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(body.effective_date) ? body.effective_date : null;
  const recorded = await d.store.recordSubjectChange(
    { subjectToken: subject, changes, origin: `recipient:${reader.recipient}`, at: d.clock.now().toISOString() },
    { actor: `recipient:${reader.recipient}`, action: 'subject.change_reported', target: subject, details: { purpose: reader.purpose, route: reader.route, changes, effective_date: effectiveDate } },
  );
  if (recorded === null) return d.release.refuse(reader, 'NOT_FOUND');
  return { subject: recipientSubjectToken, consent_version: recorded.consentVersion, accounts: recorded.accounts, applied: changes };
}

function checkChanges(body: ReportedChange): Record<string, string> {
  const changes: Record<string, string> = {};
  const group = (value: unknown, names: readonly string[], allowed: readonly string[], lift?: string) => {
    if (value === undefined) return;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new GatewayError('RESTRICTION_INVALID');
    for (const [field, v] of Object.entries(value)) {
      if (!names.includes(field)) throw new GatewayError('RESTRICTION_INVALID');
      if (v === lift) throw new GatewayError('RESTRICTION_LIFT_NOT_ALLOWED', { field });
      if (typeof v !== 'string' || !allowed.includes(v)) throw new GatewayError('RESTRICTION_INVALID', { field });
      changes[field] = v;
    }
  };
  // third_party_contact_authorised: Y widens contact, so it is not a recipient's to set.
  group(body.restrictions, restrictionFields.filter((f) => f !== 'third_party_contact_authorised'), ['Y'], 'N');
  group(body.consents, consentFields, ['granted', 'denied']);
  if (Object.keys(changes).length === 0) throw new GatewayError('RESTRICTION_INVALID');
  return changes;
}
