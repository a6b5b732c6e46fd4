/** The restrictions and consents a subject carries (FORMATS.md), and how their history folds into a state. */
export const restrictionFields = ['cease_communication', 'attorney_represented', 'disputed', 'bankruptcy', 'deceased', 'identity_theft', 'third_party_contact_authorised'] as const;
export const consentFields = ['consent_phone', 'consent_sms', 'consent_email'] as const;
export const subjectStateFields: readonly string[] = [...restrictionFields, ...consentFields];

export type ConsentValue = 'granted' | 'denied' | 'unknown';

export interface SubjectState {
  restrictions: Record<string, 'Y' | 'N'>;
  consents: Record<string, ConsentValue>;
  /** The id of the last event folded in (0: none): the consent-state version a release records. */
  version: number;
}

/** A subject's state before any event: no restriction, no consent known. */
const noRestriction = 'N';
const noConsent: ConsentValue = 'unknown';

/** Whether `value` is what `field` holds before any event (a placement's silent default, which reports nothing). */
export function isDefaultSubjectValue(field: string, value: string): boolean {
  return value === ((consentFields as readonly string[]).includes(field) ? noConsent : noRestriction);
}

/** Folds a subject's events, oldest first, up to a version (to replay a past decision). */
export function foldSubjectEvents(events: ReadonlyArray<{ id: number; field: string; value: string }>, upTo = Number.POSITIVE_INFINITY): SubjectState {
  const state: SubjectState = {
    restrictions: Object.fromEntries(restrictionFields.map((f) => [f, noRestriction])),
    consents: Object.fromEntries(consentFields.map((f) => [f, noConsent])),
    version: 0,
  };
  for (const e of events) {
    if (e.id > upTo) break;
    if (e.field in state.restrictions) state.restrictions[e.field] = e.value === 'Y' ? 'Y' : 'N';
    else if (e.field in state.consents) state.consents[e.field] = e.value as ConsentValue;
    state.version = e.id;
  }
  return state;
}
