import { GatewayError } from '../errors/gateway-error.js';
import { decodeUtf8Chunks } from './utf8.js';

export type NdjsonLine = { ok: true; value: unknown } | { ok: false };

export interface NdjsonOptions {
  /** The longest line accepted, in characters (≤ its UTF-8 bytes). */
  maxRecordBytes: number;
}

/**
 * Splits a byte stream into lines (LF or CRLF) and parses each non-blank line as JSON. A line that
 * is not JSON yields `{ ok: false }`: a record problem for the caller, not a file failure. Yields batches.
 * @throws GatewayError PARSE_INVALID_UTF8, PARSE_RECORD_TOO_LARGE (details: line)
 */
export async function* parseNdjsonLines(chunks: AsyncIterable<Uint8Array>, options: NdjsonOptions): AsyncGenerator<NdjsonLine[]> {
  let pending = '';
  let lines = 0;
  const tooLarge = () => new GatewayError('PARSE_RECORD_TOO_LARGE', { line: lines + 1, maxRecordBytes: options.maxRecordBytes });
  const parseLine = (raw: string, out: NdjsonLine[]) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim().length === 0) return;
    lines++;
    try {
      out.push({ ok: true, value: JSON.parse(line) as unknown });
    } catch {
      out.push({ ok: false });
    }
  };
  for await (const text of decodeUtf8Chunks(chunks, () => lines + 1)) {
    const buffer = pending + text;
    const out: NdjsonLine[] = [];
    let pos = 0;
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n', pos)) {
      if (newline - pos > options.maxRecordBytes) throw tooLarge();
      parseLine(buffer.slice(pos, newline), out);
      pos = newline + 1;
    }
    pending = buffer.slice(pos);
    if (pending.length > options.maxRecordBytes) throw tooLarge();
    if (out.length > 0) yield out;
  }
  const out: NdjsonLine[] = [];
  parseLine(pending, out);
  if (out.length > 0) yield out;
}
