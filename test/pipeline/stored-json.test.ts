import { describe, it, expect } from 'vitest';
import { storedJson } from '../../src/pipeline/prepare-batch.js';
import { recordSchemas } from '../../src/validate/schemas.js';
import type { RecordKind } from '../../src/config/types.js';

const recordKinds: readonly RecordKind[] = ['placement', 'recall', 'update'];

describe('storedJson', () => {
  it('is the JSON of the three objects merged, keys in the same order', () => {
    const kept = { first_name: 'Ann "Q"', balance: '10.00', city: 'Zürich\n' };
    const last4 = { card_number_last4: '4242' };
    const tokens = { national_id_token: 'v1.abc', iban_token: 'v1.def' };
    const cases: Array<[object, object, object]> = [
      [kept, last4, tokens], [kept, {}, tokens], [{}, last4, {}], [{}, {}, {}], [kept, last4, {}], [{}, {}, tokens],
    ];
    for (const [a, b, c] of cases) {
      const json = storedJson(a, b, c);
      expect(json).toBe(JSON.stringify({ ...a, ...b, ...c }));
      expect(JSON.parse(json)).toEqual({ ...a, ...b, ...c });
    }
  });

  it('relies on names that cannot clash: no schema field ends in _last4 or _token', () => {
    for (const kind of recordKinds) {
      const clashing = [...recordSchemas().knownFields[kind]].filter((name) => /_(last4|token)$/.test(name));
      expect(clashing, kind).toEqual([]);
    }
  });
});
