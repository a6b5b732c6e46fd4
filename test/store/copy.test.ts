import { describe, expect, it } from 'vitest';
import { copyBinary } from '../../src/store/postgres/copy.js';

/** The binary COPY encoder on its own; the store contract suite sends what it makes to PostgreSQL. */
describe('copyBinary', () => {
  it('writes the header, each row as a field count and length-prefixed values (-1 for NULL), and the trailer', () => {
    const out = copyBinary(['int4', 'text', 'bytea'], [[7, 'é', Buffer.from([0, 255])], [null, null, null]]);
    const expected = Buffer.concat([
      Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8), // signature, flags, extension length
      Buffer.from([0, 3]), Buffer.from([0, 0, 0, 4, 0, 0, 0, 7]), Buffer.from([0, 0, 0, 2, 0xc3, 0xa9]), Buffer.from([0, 0, 0, 2, 0, 255]),
      Buffer.from([0, 3]), Buffer.from([255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255]),
      Buffer.from([255, 255]),
    ]);
    expect(out).toEqual(expected);
  });

  it('refuses a value that does not match its column type, rather than sending bytes the server would misread', () => {
    expect(() => copyBinary(['text'], [[1]])).toThrow(TypeError);
    expect(() => copyBinary(['int4'], [['1']])).toThrow(TypeError);
    expect(() => copyBinary(['int4'], [[1.5]])).toThrow(TypeError);
    expect(() => copyBinary(['bytea'], [['00']])).toThrow(TypeError);
  });
});
