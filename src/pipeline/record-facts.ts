import type { RecordKind } from '../config/types.js';
import { isDefaultSubjectValue, subjectStateFields } from '../release/subject-state.js';
import type { RecordFacts } from '../store/store.js';

const stateFields = new Set(subjectStateFields);

/**
 * What the commit needs to know of a record besides its tokens, read here from its kept fields so
 * that the store never parses a record's JSON at commit (on PostgreSQL that parse was a third of
 * the commit of a large file).
 *
 * The subject's state: a placement reports the subject as the creditor knows it, so only values
 * other than a subject's defaults (no restriction, consent unknown) become events (its silent 'N'
 * must not lift a cease reported elsewhere); an update sets exactly what it says, lifting included.
 */
export function recordFacts(kind: RecordKind, kept: Readonly<Record<string, string>>): RecordFacts {
  let state: Record<string, string> | null = null;
  if (kind !== 'recall') {
    for (const field in kept) {
      if (!stateFields.has(field)) continue;
      const value = kept[field]!;
      if (kind === 'placement' && isDefaultSubjectValue(field, value)) continue;
      (state ??= {})[field] = value;
    }
  }
  return {
    delinquencyDate: kind === 'placement' ? kept.delinquency_date ?? null : null,
    updateType: kind === 'update' ? kept.update_type ?? null : null,
    subjectState: state === null ? null : JSON.stringify(state),
  };
}
