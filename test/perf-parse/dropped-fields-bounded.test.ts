import { describe, expect, it } from 'vitest';
import { columnMapper, maxDroppedFieldNames } from '../../src/parse/mapping.js';

const options = { mapping: {}, knownFields: new Set(['account_ref', 'balance']), kind: 'placement' as const };

describe('dropped-field counts', () => {
  it('stay bounded when every NDJSON line brings a new unknown key, while every drop is still counted', () => {
    const mapper = columnMapper(null, options, 'account_ref');
    const dropped = new Map<string, number>();
    const lines = 20_000;
    for (let i = 0; i < lines; i++) {
      const fields = mapper.objectToFields({ account_ref: `A-${i}`, [`extra_${i}`]: 'x', balance: '1.00' }, dropped);
      expect(fields).toEqual({ account_ref: `A-${i}`, balance: '1.00' });
    }
    expect(dropped.size).toBe(maxDroppedFieldNames + 1);
    expect(dropped.get('extra_0')).toBe(1);
    expect(dropped.get('other_fields')).toBe(lines - maxDroppedFieldNames);
    expect([...dropped.values()].reduce((a, b) => a + b, 0)).toBe(lines);
  });

  it('keep counting names already seen one by one after the cap is reached', () => {
    const mapper = columnMapper(null, options, 'account_ref');
    const dropped = new Map<string, number>();
    for (let i = 0; i < maxDroppedFieldNames + 10; i++) mapper.objectToFields({ account_ref: 'A', [`k${i}`]: 'x', diagnosis_code: 'Z' }, dropped);
    expect(dropped.get('diagnosis_code')).toBe(maxDroppedFieldNames + 10);
  });
});
