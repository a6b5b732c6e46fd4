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

/** Folds a subject's events, oldest first, up to a version (to replay a past decision). */
export function foldSubjectEvents(events: ReadonlyArray<{ id: number; field: string; value: string }>, upTo = Number.POSITIVE_INFINITY): SubjectState {
  const state: SubjectState = {
    restrictions: Object.fromEntries(restrictionFields.map((f) => [f, 'N' as const])),
    consents: Object.fromEntries(consentFields.map((f) => [f, 'unknown' as const])),
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
