import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideRelease } from '../../src/release/decide.js';
import { releasableFields } from '../../src/release/fields.js';
import { defaultRules, type FieldMode, type ReleaseFacts } from '../../src/release/rules.js';
import { projectRoot } from '../helpers/workspace.js';

/** A collection-contact grant showing each mode. */
const grant: Record<string, FieldMode> = {
  balance: 'value', debt_type: 'value', first_name: 'reveal', last_name: 'reveal', national_id: 'masked',
  date_of_birth: 'verify', postal_code: 'verify', phone: 'reveal', email: 'reveal', address_line1: 'reveal', card_number: 'masked',
};
const plain: ReleaseFacts = {
  purpose: 'collection-contact', accountStatus: 'placed', debtType: 'credit_card',
  restrictions: { cease_communication: 'N', attorney_represented: 'N', bankruptcy: 'N', deceased: 'N', identity_theft: 'N' },
  consents: { consent_phone: 'granted', consent_sms: 'unknown', consent_email: 'granted' },
};
const contact = ['phone', 'email', 'address_line1', 'postal_code'];

/**
 * The rule table, which is also the documentation of the shipped defaults:
 * [state of the subject or account] → [granted fields withheld, with their reason]; every other granted field is released as granted.
 */
const table: Array<[string, Partial<ReleaseFacts> & { restriction?: string }, Record<string, string>]> = [
  ['no restriction, phone and e-mail consented', {}, {}],
  ['cease_communication', { restriction: 'cease_communication' }, Object.fromEntries(contact.map((f) => [f, 'cease_communication']))],
  ['attorney_represented', { restriction: 'attorney_represented' }, Object.fromEntries(contact.map((f) => [f, 'attorney_represented']))],
  ['bankruptcy', { restriction: 'bankruptcy' }, Object.fromEntries(contact.map((f) => [f, 'bankruptcy']))],
  ['deceased', { restriction: 'deceased' }, Object.fromEntries(contact.map((f) => [f, 'deceased']))],
  ['identity_theft', { restriction: 'identity_theft' }, Object.fromEntries(contact.map((f) => [f, 'identity_theft']))],
  ['phone consent denied', { consents: { ...plain.consents, consent_phone: 'denied' } }, { phone: 'consent_denied' }],
  ['phone consent unknown: phone allowed', { consents: { ...plain.consents, consent_phone: 'unknown' } }, {}],
  ['e-mail opt-out', { consents: { ...plain.consents, consent_email: 'denied' } }, { email: 'consent_denied' }],
  ['e-mail consent unknown: e-mail withheld (only when granted)', { consents: { ...plain.consents, consent_email: 'unknown' } }, { email: 'consent_not_granted' }],
  ['deceased and e-mail opt-out: the first rule gives the reason', { restriction: 'deceased', consents: { ...plain.consents, consent_email: 'denied' } }, Object.fromEntries(contact.map((f) => [f, 'deceased']))],
  ['recalled account: a tombstone, nothing released', { accountStatus: 'recalled' }, Object.fromEntries(Object.keys(grant).map((f) => [f, 'account_recalled']))],
  ['recalled and ceased: the recall gives the reason', { accountStatus: 'recalled', restriction: 'cease_communication' }, Object.fromEntries(Object.keys(grant).map((f) => [f, 'account_recalled']))],
  ['disputed: no phone or e-mail until verification is mailed', { restriction: 'disputed' }, { phone: 'disputed', email: 'disputed' }],
  ['disputed, letter-mailing: the validation letter may still go', { restriction: 'disputed', purpose: 'letter-mailing' }, {}],
  ['third-party contact not authorised: nothing changes for the debtor\'s own fields', { restriction: 'third_party_contact_authorised' }, {}],
];

describe('release decisions under the default rules', () => {
  it.each(table)('%s', (_name, change, withheld) => {
    const { restriction, ...rest } = change;
    const facts: ReleaseFacts = { ...plain, ...rest, restrictions: restriction === undefined ? plain.restrictions : { ...plain.restrictions, [restriction]: 'Y' } };
    const decision = decideRelease(grant, facts, defaultRules);
    expect(decision.withheld).toEqual(withheld);
    const released = Object.fromEntries(Object.entries(grant).filter(([f]) => !(f in withheld)));
    expect(decision.released).toEqual(released);
  });

  it('never releases a field the grant does not name, whatever the consents', () => {
    const decision = decideRelease({ balance: 'value' }, plain, defaultRules);
    expect(decision).toEqual({ released: { balance: 'value' }, withheld: {} });
  });
});

describe('docs/recipients.md', () => {
  const doc = readFileSync(join(projectRoot, 'docs', 'recipients.md'), 'utf8');
  it('documents every shipped rule with its reason and the fields it withholds', () => {
    for (const rule of defaultRules) {
      const row = doc.split('\n').find((line) => line.startsWith(`| \`${rule.name}\``) && line.includes(rule.because.slice(0, 30)));
      expect(row, rule.name).toBeDefined();
      for (const field of rule.withhold) expect(row, `${rule.name} withholds ${field}`).toContain(field);
    }
  });

  it('names every releasable field', () => {
    for (const field of Object.keys(releasableFields)) expect(doc, field).toContain(field);
  });
});
