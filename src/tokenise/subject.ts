import type { MinimisedRecord } from '../minimise/minimise.js';

/** National id types that identify one person (an `other` id may be anything, so it does not). */
const personIds = new Set(['us_ssn', 'cn_ric', 'gb_nino']);

/**
 * The value behind a tokenised identifier. A national id is qualified by its type, so that equal
 * digits of different schemes never share a token.
 */
export function tokenValue(field: string, value: string, m: MinimisedRecord): string {
  return field === 'national_id' ? `${m.keep.national_id_type ?? 'other'}:${value}` : value;
}

/**
 * Who a placement is about. With a national id, the subject token IS the national id's token: the
 * same person across accounts and sources is one subject (one data key, one erasure), at no extra
 * HMAC. Without one, we do not guess from names and birth dates (a wrong merge would release one
 * person's data as another's): the subject is the account itself, in the subject domain.
 */
export function subjectOf(m: MinimisedRecord, nationalIdToken: string | undefined): { domain: 'subject'; value: string } | { token: string } {
  if (nationalIdToken !== undefined && personIds.has(m.keep.national_id_type ?? '')) return { token: nationalIdToken };
  return { domain: 'subject', value: `account:${m.accountRef}` };
}
