import { describe, it, expect } from 'vitest';
import { parseDelimitedRows, type DelimitedOptions } from '../../src/parse/csv.js';
import { bytesOf, chunkings, streamOf } from '../helpers/chunks.js';
import { seededRandom } from '../../src/demo/sample-placements.js';

const csv: DelimitedOptions = { delimiter: ',', maxRecordBytes: 64 * 1024 };
const SENTINEL = 'SENTINEL-123-45-6789';

async function parseAll(chunks: Uint8Array[], options: DelimitedOptions = csv): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const batch of parseDelimitedRows(streamOf(chunks), options)) {
    expect(batch.length).toBeGreaterThan(0);
    rows.push(...batch);
  }
  return rows;
}

/** Parses `input` under every chunking and expects the same rows each time. */
async function expectRows(input: Parameters<typeof bytesOf>[0], expected: string[][], options: DelimitedOptions = csv): Promise<void> {
  for (const { name, chunks } of chunkings(bytesOf(input))) {
    expect(await parseAll(chunks, options), name).toEqual(expected);
  }
}

async function errorOf(chunks: Uint8Array[], options: DelimitedOptions = csv): Promise<Error & { code?: string; details?: unknown }> {
  try {
    await parseAll(chunks, options);
  } catch (err) {
    return err as Error & { code?: string; details?: unknown };
  }
  throw new Error('expected the parse to fail');
}

/** Parses `input` under every chunking and expects the same GatewayError each time, carrying no input text. */
async function expectError(input: Parameters<typeof bytesOf>[0], expected: { code: string; details?: Record<string, unknown> }, options: DelimitedOptions = csv): Promise<void> {
  for (const { name, chunks } of chunkings(bytesOf(input))) {
    const err = await errorOf(chunks, options);
    expect(err, name).toMatchObject(expected);
    expect(JSON.stringify({ message: err.message, details: err.details }), name).not.toContain(SENTINEL);
  }
}

describe('parseDelimitedRows', () => {
  describe('rows and cells', () => {
    it('reads plain rows, the header like any other', async () => {
      await expectRows('account_ref,balance,city\nA-1,10.00,Springfield\nA-2,0.50,Riverton\n', [
        ['account_ref', 'balance', 'city'],
        ['A-1', '10.00', 'Springfield'],
        ['A-2', '0.50', 'Riverton'],
      ]);
    });

    it('reads CRLF line ends', async () => {
      await expectRows('a,b\r\n1,2\r\n3,4\r\n', [['a', 'b'], ['1', '2'], ['3', '4']]);
    });

    it('reads a last row without a line end, plain or quoted', async () => {
      await expectRows('a,b\n1,2', [['a', 'b'], ['1', '2']]);
      await expectRows('a,b\r\n1,"2"', [['a', 'b'], ['1', '2']]);
      await expectRows('a,b\r\n1,"2"\r', [['a', 'b'], ['1', '2']]);
    });

    it('returns empty cells, and a final empty cell after a trailing delimiter', async () => {
      await expectRows('a,,b\na,b,\n,\n""\n"",""\n"a",\n', [['a', '', 'b'], ['a', 'b', ''], ['', ''], [''], ['', ''], ['a', '']]);
    });

    it('returns cells exactly, without trimming', async () => {
      await expectRows(' a , b\t\n', [[' a ', ' b\t']]);
    });

    it('skips completely empty lines, LF or CRLF, anywhere in the file', async () => {
      await expectRows('\n\r\na,b\n\n\r\n1,2\n\n', [['a', 'b'], ['1', '2']]);
    });

    it('yields nothing for an empty file or one holding only line ends', async () => {
      await expectRows('', []);
      await expectRows('\n\r\n\n', []);
    });

    it('keeps a CR that does not end a line as cell text', async () => {
      await expectRows('a\rb,c\n', [['a\rb', 'c']]);
    });

    it('reads pipe-delimited sources, where a comma is plain text', async () => {
      const options = { ...csv, delimiter: '|' };
      await expectRows('name|note\nDoe, Jane|"a|b"\n', [['name', 'note'], ['Doe, Jane', 'a|b']], options);
    });
  });

  describe('quoted fields (RFC 4180 §2)', () => {
    it('may hold the delimiter, "" for a quote, and line breaks (CRLF or LF)', async () => {
      const input = 'name,note,n\r\n"Doe, Jane","say ""hi""",1\r\n"x","line1\r\nline2\nline3",2\r\n';
      await expectRows(input, [
        ['name', 'note', 'n'],
        ['Doe, Jane', 'say "hi"', '1'],
        ['x', 'line1\r\nline2\nline3', '2'],
      ]);
    });

    it('mix with unquoted fields anywhere in the row', async () => {
      await expectRows('a,"b",c,"d,e",,f\n"",x,""""\n', [['a', 'b', 'c', 'd,e', '', 'f'], ['', 'x', '"']]);
    });

    it('hold blank lines and only quotes', async () => {
      await expectRows('"\n\n",""""""\n', [['\n\n', '""']]);
    });
  });

  describe('text', () => {
    it('drops a leading BOM, and only a leading one', async () => {
      await expectRows('\uFEFFa,b\n\uFEFF1,2\n', [['a', 'b'], ['\uFEFF1', '2']]);
    });

    it('decodes Chinese, accented and astral characters split across chunks', async () => {
      await expectRows('姓名,城市,note\n张伟,北京,"上海, 中国"\nZoë,Émile Müller,😀\n', [
        ['姓名', '城市', 'note'],
        ['张伟', '北京', '上海, 中国'],
        ['Zoë', 'Émile Müller', '😀'],
      ]);
    });

    it.each([
      ['a 0xff byte', ['a,b\n1,', [0xff], '\n']],
      ['a lone continuation byte', ['a,b\n1,', [0x80], '\n']],
      ['an overlong encoding of "/"', ['a,b\n1,', [0xc0, 0xaf], '\n']],
      ['an overlong 3-byte sequence', ['a,b\n1,', [0xe0, 0x80, 0xaf], '\n']],
      ['an encoded UTF-16 surrogate', ['a,b\n1,', [0xed, 0xa0, 0x80], '\n']],
      ['Latin-1 text', ['a,b\n1,Caf', [0xe9], ',x\n']],
      ['a multi-byte character cut short at the very end', ['a,b\n1,', [0xe4, 0xb8]]],
    ] as Array<[string, Array<string | number[]>]>)('refuses invalid UTF-8: %s', async (_name, parts) => {
      await expectError([SENTINEL, ',x\n', ...parts], { code: 'PARSE_INVALID_UTF8' });
    });

    it('reports the row being read when the bad byte arrives', async () => {
      const err = await errorOf([bytesOf('h\n1\n2\n'), bytesOf(['3', [0xff], '\n'])]);
      expect(err).toMatchObject({ code: 'PARSE_INVALID_UTF8', details: { row: 4 } });
    });
  });

  describe('malformed input', () => {
    it('refuses an unterminated quoted field, naming its row', async () => {
      await expectError(`a,b\n\n1,"${SENTINEL}\n2,3\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
    });

    it('refuses a quote inside an unquoted field', async () => {
      await expectError(`a,b\n1,x"${SENTINEL}"\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
      await expectError(`a,b\n1,${SENTINEL}"\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
      await expectError(`a,b\n "${SENTINEL}",1\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
    });

    it('refuses text between a closing quote and the next delimiter', async () => {
      await expectError(`a,b\n"${SENTINEL}"x,1\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
      await expectError(`a,b\n"${SENTINEL}" ,1\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
      await expectError(`a,b\n1,"${SENTINEL}"\rx\n`, { code: 'PARSE_MALFORMED', details: { row: 2 } });
    });

    it('counts rows among those yielded, skipping blank lines, with the header as row 1', async () => {
      await expectError(`h\n\n1\n\r\n"2\n2"\n3\n4"${SENTINEL}\n`, { code: 'PARSE_MALFORMED', details: { row: 5 } });
    });
  });

  describe('maxRecordBytes', () => {
    const small = { ...csv, maxRecordBytes: 24 };

    it('accepts a row of exactly the limit, counted in UTF-8 bytes without its line end', async () => {
      const row = `${'é'.repeat(10)},abc`; // 20 + 4 bytes, 14 characters
      await expectRows(`${row}\r\n${row}`, [['é'.repeat(10), 'abc'], ['é'.repeat(10), 'abc']], small);
    });

    it('refuses a row one byte over, even when its characters are fewer than the limit', async () => {
      // 25 bytes in 15 characters; 28 bytes in 12 characters.
      await expectError(`${SENTINEL}\n${'é'.repeat(10)},abcd\n`, { code: 'PARSE_RECORD_TOO_LARGE', details: { row: 2 } }, small);
      await expectError(`${SENTINEL}\n"${'张'.repeat(8)}",b\n`, { code: 'PARSE_RECORD_TOO_LARGE', details: { row: 2 } }, small);
    });

    it('refuses a 10 MB single line with a 1 MiB limit fast, reading little more than the limit', async () => {
      for (const opening of ['', '"']) {
        const chunkBytes = 64 * 1024;
        const line = bytesOf(`a,b\n1,${opening}${'x'.repeat(10 * 1024 * 1024)}\n`);
        let bytesRead = 0;
        async function* source(): AsyncGenerator<Uint8Array> {
          for (let i = 0; i < line.length; i += chunkBytes) {
            bytesRead += Math.min(chunkBytes, line.length - i);
            yield line.subarray(i, i + chunkBytes);
          }
        }
        const started = performance.now();
        let err: unknown = null;
        try {
          for await (const _batch of parseDelimitedRows(source(), { ...csv, maxRecordBytes: 1024 * 1024 }));
        } catch (e) {
          err = e;
        }
        expect(err, `opening ${opening}`).toMatchObject({ code: 'PARSE_RECORD_TOO_LARGE', details: { row: 2 } });
        expect(bytesRead).toBeLessThanOrEqual(1024 * 1024 + 2 * chunkBytes);
        expect(performance.now() - started).toBeLessThan(2_000);
      }
    });
  });

  describe('streaming', () => {
    it('yields about one batch per chunk, in order', async () => {
      const rows = Array.from({ length: 5000 }, (_, i) => [`A-${i}`, `"x, ${i}"`, 'y'].join(','));
      const bytes = bytesOf(`${rows.join('\r\n')}\r\n`);
      const chunkBytes = 4096;
      const chunks = Array.from({ length: Math.ceil(bytes.length / chunkBytes) }, (_, i) => bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes));
      const batches: string[][][] = [];
      for await (const batch of parseDelimitedRows(streamOf(chunks), csv)) batches.push(batch);
      expect(batches.length).toBeGreaterThan(chunks.length / 2);
      expect(batches.length).toBeLessThanOrEqual(chunks.length + 1);
      expect(batches.flat().map((r) => r[0])).toEqual(rows.map((_, i) => `A-${i}`));
      expect(batches.flat()[4999]).toEqual(['A-4999', 'x, 4999', 'y']);
    });

    it('reads back any table written per RFC 4180, however it is chunked', async () => {
      const random = seededRandom(42);
      const alphabet = ['a', 'Z', '0', ' ', ',', '|', '"', '\n', '\r', '\r\n', 'é', '张', '😀', ''];
      const cell = () => Array.from({ length: Math.floor(random() * 5) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      for (let table = 0; table < 40; table++) {
        const rows = Array.from({ length: 1 + Math.floor(random() * 4) }, () => Array.from({ length: 1 + Math.floor(random() * 4) }, cell));
        const quoteAlways = random() < 0.3;
        const write = (c: string) => (quoteAlways || /[",\r\n]/.test(c) ? `"${c.replaceAll('"', '""')}"` : c);
        // A row of one empty cell must be quoted, or it would be an empty line, which is skipped.
        const lines = rows.map((r) => (r.length === 1 && r[0] === '' ? '""' : r.map(write).join(',')));
        const lineEnd = random() < 0.5 ? '\n' : '\r\n';
        const text = lines.join(lineEnd) + (random() < 0.5 ? lineEnd : '');
        await expectRows(text, rows);
      }
    });
  });

  it('refuses a delimiter it could not tell from the syntax (a bug in the caller)', async () => {
    for (const delimiter of ['"', '\n', '\r', ',,', '']) {
      await expect(parseAll([bytesOf('a')], { ...csv, delimiter })).rejects.toThrow(RangeError);
    }
  });
});
