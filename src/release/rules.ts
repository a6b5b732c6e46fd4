/**
 * Release rules: declarative, named, and explained. Each rule names the fields it withholds when its
 * condition holds; its name is the reason a recipient (and the audit log) sees. Safe defaults modelled
 * on FDCPA / Regulation F (12 CFR 1006), HIPAA minimum necessary and GDPR/PIPL minimisation.
 */
import type { FieldMode } from '../config/types.js';

export type { FieldMode };

/** A subject's and account's state, as the rules see it. Tokens and flags only: no personal value. */
export interface ReleaseFacts {
  purpose: string;
  accountStatus: 'placed' | 'recalled';
  debtType: string;
  restrictions: Readonly<Record<string, 'Y' | 'N'>>;
  consents: Readonly<Record<string, 'granted' | 'denied' | 'unknown'>>;
}

export type Condition =
  | { accountStatus: 'placed' | 'recalled' }
  | { restriction: string; is?: 'Y' | 'N' }
  | { consent: string; is: Array<'granted' | 'denied' | 'unknown'> }
  | { debtType: string };

export interface Rule {
  /** The withheld reason, lower_snake (DESIGN: `cease_communication`). */
  name: string;
  when: Condition;
  /** Field names, groups (`@contact`, `@personal`, `@medical`), or `*` for every field. */
  withhold: readonly string[];
  /** Purposes the rule does not apply to (a validation letter may still be mailed to a disputing debtor). */
  exceptPurposes?: readonly string[];
  /** Why the rule exists, for the docs and `config check`. */
  because: string;
}

export const fieldGroups: Readonly<Record<string, readonly string[]>> = {
  '@contact': ['phone', 'email', 'address_line1', 'address_line2', 'city', 'region', 'postal_code'],
  '@personal': [
    'first_name', 'middle_name', 'last_name', 'date_of_birth', 'national_id', 'phone', 'email', 'address_line1', 'address_line2',
    'city', 'region', 'postal_code', 'card_number', 'iban', 'bank_routing_number', 'bank_account_number', 'service_date', 'facility_name',
  ],
  '@medical': ['service_date', 'facility_name'],
};

/** The shipped defaults, in order: the first rule that withholds a field gives its reason. */
export const defaultRules: readonly Rule[] = [
  { name: 'account_recalled', when: { accountStatus: 'recalled' }, withhold: ['*'], because: 'a recalled account releases a tombstone and nothing else' },
  { name: 'deceased', when: { restriction: 'deceased' }, withhold: ['@contact'], because: 'no collection contact with a deceased debtor' },
  { name: 'bankruptcy', when: { restriction: 'bankruptcy' }, withhold: ['@contact'], because: 'the automatic stay (11 U.S.C. 362) forbids collection contact' },
  { name: 'cease_communication', when: { restriction: 'cease_communication' }, withhold: ['@contact'], because: 'FDCPA 805(c): after a written cease request, no further communication' },
  { name: 'attorney_represented', when: { restriction: 'attorney_represented' }, withhold: ['@contact'], because: 'FDCPA 805(a)(2): communicate with the attorney, not the debtor' },
  {
    name: 'disputed', when: { restriction: 'disputed' }, withhold: ['phone', 'email'], exceptPurposes: ['letter-mailing'],
    because: 'FDCPA 809(b): collection stops until verification is mailed; the letter itself may go',
  },
  { name: 'identity_theft', when: { restriction: 'identity_theft' }, withhold: ['@contact'], because: 'FCRA 615(f): a debt claimed to result from identity theft is not collected until resolved' },
  { name: 'consent_denied', when: { consent: 'consent_phone', is: ['denied'] }, withhold: ['phone'], because: 'the debtor refused phone contact' },
  { name: 'consent_denied', when: { consent: 'consent_email', is: ['denied'] }, withhold: ['email'], because: 'the debtor opted out of e-mail (Regulation F 1006.6(e))' },
  { name: 'consent_not_granted', when: { consent: 'consent_email', is: ['unknown'] }, withhold: ['email'], because: 'e-mail only with the debtor\u2019s consent (Regulation F 1006.6(d)(4))' },
  { name: 'medical_minimum_necessary', when: { debtType: 'medical' }, withhold: ['notes'], because: 'HIPAA minimum necessary: free text on a medical account may hold diagnoses' },
];

export function expandFields(names: readonly string[]): string[] {
  return names.flatMap((n) => (n.startsWith('@') ? [...(fieldGroups[n] ?? [])] : [n]));
}

export function holds(condition: Condition, facts: ReleaseFacts): boolean {
  if ('accountStatus' in condition) return facts.accountStatus === condition.accountStatus;
  if ('restriction' in condition) return (facts.restrictions[condition.restriction] ?? 'N') === (condition.is ?? 'Y');
  if ('consent' in condition) return condition.is.includes(facts.consents[condition.consent] ?? 'unknown');
  return facts.debtType === condition.debtType;
}
