import { describe, it, expect } from 'vitest';
import { parseNdjsonLines, type NdjsonLine, type NdjsonOptions } from '../../src/parse/ndjson.js';
import { bytesOf, chunkings, streamOf } from '../helpers/chunks.js';

const ndjson: NdjsonOptions = { maxRecordBytes: 64 * 1024 };
const SENTINEL = 'SENTINEL-123-45-6789';

async function parseAll(chunks: Uint8Array[], options: NdjsonOptions = ndjson): Promise<NdjsonLine[]> {
  const lines: NdjsonLine[] = [];
  for await (const batch of parseNdjsonLines(streamOf(chunks), options)) {
    expect(batch.length).toBeGreaterThan(0);
    lines.push(...batch);
  }
  return lines;
}

/** Parses `input` under every chunking and expects the same lines each time. */
async function expectLines(input: Parameters<typeof bytesOf>[0], expected: NdjsonLine[], options: NdjsonOptions = ndjson): Promise<void> {
  for (const { name, chunks } of chunkings(bytesOf(input))) {
    expect(await parseAll(chunks, options), name).toEqual(expected);
  }
}

async function errorOf(chunks: Uint8Array[], options: NdjsonOptions = ndjson): Promise<Error & { details?: unknown }> {
  try {
    await parseAll(chunks, options);
  } catch (err) {
    return err as Error & { details?: unknown };
  }
  throw new Error('expected the parse to fail');
}

/** Parses `input` under every chunking and expects the same GatewayError each time, carrying no input text. */
async function expectError(input: Parameters<typeof bytesOf>[0], expected: { code: string; details?: Record<string, unknown> }, options: NdjsonOptions = ndjson): Promise<void> {
  for (const { name, chunks } of chunkings(bytesOf(input))) {
    const err = await errorOf(chunks, options);
    expect(err, name).toMatchObject(expected);
    expect(JSON.stringify({ message: err.message, details: err.details }), name).not.toContain(SENTINEL);
  }
}

const ok = (value: unknown): NdjsonLine => ({ ok: true, value });

describe('parseNdjsonLines', () => {
  it('parses one JSON value per line, LF or CRLF, with or without a final line end', async () => {
    await expectLines('{"a":1}\n{"b":"x"}\n', [ok({ a: 1 }), ok({ b: 'x' })]);
    await expectLines('{"a":1}\r\n{"b":"x"}\r\n', [ok({ a: 1 }), ok({ b: 'x' })]);
    await expectLines('{"a":1}\n{"b":"x"}', [ok({ a: 1 }), ok({ b: 'x' })]);
    await expectLines('{"a":1}\r\n{"b":"x"}\r', [ok({ a: 1 }), ok({ b: 'x' })]);
  });

  it('returns any JSON value: telling records from arrays or numbers is the caller’s job', async () => {
    await expectLines('[1,2]\n3\n"s"\nnull\n', [ok([1, 2]), ok(3), ok('s'), ok(null)]);
  });

  it('skips blank and whitespace-only lines', async () => {
    await expectLines('\n\r\n{"a":1}\n  \t\r\n\n{"a":2}\n\n', [ok({ a: 1 }), ok({ a: 2 })]);
    await expectLines('', []);
    await expectLines(' \n\r\n', []);
  });

  it('yields { ok: false } for a line that is not JSON, never throws, and goes on', async () => {
    await expectLines(`{"a":1}\n{"ssn":"${SENTINEL}"\nnot json ${SENTINEL}\n{"a":2}\n`, [ok({ a: 1 }), { ok: false }, { ok: false }, ok({ a: 2 })]);
  });

  it('drops a leading BOM, and only a leading one', async () => {
    await expectLines('\uFEFF{"a":1}\n\uFEFF{"a":2}\n', [ok({ a: 1 }), { ok: false }]);
  });

  it('decodes Chinese, accented and astral characters split across chunks', async () => {
    await expectLines('{"名":"张伟","city":"Zürich"}\n{"e":"😀","u":"\\u00e9"}\n', [ok({ 名: '张伟', city: 'Zürich' }), ok({ e: '😀', u: 'é' })]);
  });

  it.each([
    ['a 0xff byte', ['{"a":"', [0xff], '"}\n']],
    ['a lone continuation byte', ['{"a":"', [0x80], '"}\n']],
    ['an overlong encoding of "/"', ['{"a":"', [0xc0, 0xaf], '"}\n']],
    ['an overlong 3-byte sequence', ['{"a":"', [0xe0, 0x80, 0xaf], '"}\n']],
    ['an encoded UTF-16 surrogate', ['{"a":"', [0xed, 0xa0, 0x80], '"}\n']],
    ['a multi-byte character cut short at the very end', ['{"a":1}\n', [0xe4, 0xb8]]],
  ] as Array<[string, Array<string | number[]>]>)('refuses invalid UTF-8: %s', async (_name, parts) => {
    await expectError([`{"s":"${SENTINEL}"}\n`, ...parts], { code: 'PARSE_INVALID_UTF8' });
  });

  describe('maxRecordBytes', () => {
    const small = { maxRecordBytes: 24 };

    it('accepts a line of exactly the limit, counted in UTF-8 bytes without its line end', async () => {
      const line = `{"k":"${'é'.repeat(8)}"}`; // 24 bytes in 16 characters
      await expectLines(`${line}\r\n${line}`, [ok({ k: 'é'.repeat(8) }), ok({ k: 'é'.repeat(8) })], small);
    });

    it('refuses a line one byte over, naming it among the non-blank lines', async () => {
      await expectError(`{}\n\n{"k":"${'é'.repeat(8)}x"}\n`, { code: 'PARSE_RECORD_TOO_LARGE', details: { line: 2 } }, small);
      await expectError(`{}\n\n{"s":"${SENTINEL}"}\n{}\n`, { code: 'PARSE_RECORD_TOO_LARGE', details: { line: 2 } }, small);
    });

    it('refuses a 10 MB single line with a 1 MiB limit fast, reading little more than the limit', async () => {
      const chunkBytes = 64 * 1024;
      const text = bytesOf(`{"a":1}\n{"notes":"${'x'.repeat(10 * 1024 * 1024)}"}\n`);
      let bytesRead = 0;
      async function* source(): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < text.length; i += chunkBytes) {
          bytesRead += Math.min(chunkBytes, text.length - i);
          yield text.subarray(i, i + chunkBytes);
        }
      }
      const started = performance.now();
      let err: unknown = null;
      try {
        for await (const _batch of parseNdjsonLines(source(), { maxRecordBytes: 1024 * 1024 }));
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'PARSE_RECORD_TOO_LARGE', details: { line: 2 } });
      expect(bytesRead).toBeLessThanOrEqual(1024 * 1024 + 2 * chunkBytes);
      expect(performance.now() - started).toBeLessThan(2_000);
    });
  });

  it('yields about one batch per chunk, in order', async () => {
    const bytes = bytesOf(Array.from({ length: 3000 }, (_, i) => `{"n":${i},"s":"张伟 ${i}"}\n`).join(''));
    const chunkBytes = 4096;
    const chunks = Array.from({ length: Math.ceil(bytes.length / chunkBytes) }, (_, i) => bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes));
    const batches: NdjsonLine[][] = [];
    for await (const batch of parseNdjsonLines(streamOf(chunks), ndjson)) batches.push(batch);
    expect(batches.length).toBeGreaterThan(chunks.length / 2);
    expect(batches.length).toBeLessThanOrEqual(chunks.length + 1);
    expect(batches.flat()).toEqual(Array.from({ length: 3000 }, (_, i) => ok({ n: i, s: `张伟 ${i}` })));
  });
});
