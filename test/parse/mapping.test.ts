import { describe, it, expect } from 'vitest';
import { columnMapper } from '../../src/parse/mapping.js';
import { recordSchemas } from '../../src/validate/schemas.js';

const known = recordSchemas().knownFields.placement;

describe('columnMapper.toFields', () => {
  it('keeps known columns in header order, leaves empty cells out and counts unknown columns', () => {
    const mapper = columnMapper(['account_ref', 'Notes', 'bal', 'first_name', 'x"];throw 1;//'], { mapping: { bal: 'balance' }, knownFields: known, kind: 'placement' }, 'account_ref');
    const dropped = new Map<string, number>();
    const first = mapper.toFields(['A-1', 'call after 5', '10.00', '', 'y'], dropped);
    const second = mapper.toFields(['A-2', '', '20.00', 'Ann', ''], dropped);

    expect(first).toEqual({ account_ref: 'A-1', balance: '10.00' });
    expect(Object.keys(first)).toEqual(['account_ref', 'balance']);
    expect('first_name' in first).toBe(false);
    expect(Object.keys(second)).toEqual(['account_ref', 'balance', 'first_name']);
    // A header cell that is not a plain name is counted by its position, never echoed.
    expect([...dropped]).toEqual([['Notes', 1], ['column_5', 1]]);
  });

  it('gives each row its own object', () => {
    const mapper = columnMapper(['account_ref', 'balance'], { mapping: {}, knownFields: known, kind: 'placement' }, 'account_ref');
    const a = mapper.toFields(['A-1', '1.00'], new Map());
    const b = mapper.toFields(['A-2', '2.00'], new Map());
    a.balance = '9.00';
    expect(b).toEqual({ account_ref: 'A-2', balance: '2.00' });
  });

  it('builds every placement field of a full-width row (more than V8 keeps as a plain object when keyed one by one)', () => {
    const header = [...known];
    const mapper = columnMapper(header, { mapping: {}, knownFields: known, kind: 'placement' }, 'account_ref');
    const fields = mapper.toFields(header.map((name) => `v-${name}`), new Map());
    expect(Object.keys(fields)).toEqual(header);
    for (const name of header) expect(fields[name]).toBe(`v-${name}`);
  });
});
