import type { MinimisedRecord } from '../minimise/minimise.js';

/**
 * Who a placement is about, as the value behind the subject token. With a national id, the same
 * person across accounts and sources is one subject (one data key, one erasure). Without one, we do
 * not guess from names and birth dates (a wrong merge would release one person's data as another's):
 * the subject is the account itself.
 */
export function subjectValue(source: string, m: MinimisedRecord): string {
  const id = m.tokenise.national_id;
  const type = m.keep.national_id_type;
  if (id !== undefined && type !== undefined && type !== 'other') return `id:${type}:${id}`;
  return `account:${source}\0${m.accountRef}`;
}
