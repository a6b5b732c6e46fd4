import type { RecordKind } from '../config/types.js';
import type { Rejection } from '../errors/gateway-error.js';
import type { ValidRecord } from '../validate/record.js';
import type { MinimisationPolicy } from './policy.js';

/** A record split by what may be stored of each field. Nothing not listed here reaches storage. */
export interface MinimisedRecord {
  readonly recordNo: number;
  readonly kind: RecordKind;
  readonly accountRef: string;
  /** Stored as is. */
  readonly keep: Record<string, string>;
  /** To be encrypted under the subject's data key. */
  readonly vault: Record<string, string>;
  /** To be replaced by keyed tokens. */
  readonly tokenise: Record<string, string>;
  /** Last four characters kept in clear (card). */
  readonly last4Clear: Record<string, string>;
  readonly warnings: readonly Rejection[];
}

/**
 * Applies the minimisation policy: every field goes to exactly one strategy, and dropped ones are
 * counted (field → records) for the acknowledgement.
 */
export function minimise(record: ValidRecord, policy: MinimisationPolicy, dropped: Map<string, number>): MinimisedRecord {
  const table = policy[record.kind];
  const out: MinimisedRecord = { recordNo: record.recordNo, kind: record.kind, accountRef: record.fields.account_ref!, keep: {}, vault: {}, tokenise: {}, last4Clear: {}, warnings: record.warnings };
  // for-in, not Object.entries: no [field, value] array per field (25 per placement) for the GC.
  const fields = record.fields;
  for (const field in fields) {
    if (field === 'account_ref') continue;
    const value = fields[field]!;
    switch (table[field] ?? 'drop') {
      case 'keep':
        out.keep[field] = value;
        break;
      case 'vault':
        out.vault[field] = value;
        break;
      case 'token':
        out.tokenise[field] = value;
        break;
      case 'token-last4':
        out.tokenise[field] = value;
        out.last4Clear[`${field}_last4`] = value.slice(-4);
        break;
      case 'token-vault-last4':
        out.tokenise[field] = value;
        out.vault[`${field}_last4`] = value.slice(-4);
        break;
      case 'drop':
        dropped.set(field, (dropped.get(field) ?? 0) + 1);
        break;
    }
  }
  return out;
}
