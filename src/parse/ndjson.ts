import { Buffer } from 'node:buffer';
import { GatewayError } from '../errors/gateway-error.js';
import { decodeUtf8Chunks } from './utf8.js';

/** One non-blank line: its parsed JSON value, or `ok: false` when it is not JSON. */
export type NdjsonLine = { ok: true; value: unknown } | { ok: false };

export interface NdjsonOptions {
  /** The longest line accepted, in bytes of UTF-8, not counting its line end. */
  maxRecordBytes: number;
}

/**
 * Splits a byte stream into lines (LF or CRLF; the last may have no line end) and JSON.parses each
 * non-blank line. A leading BOM is dropped. A line that is not valid JSON yields `{ ok: false }`: a
 * record-level problem for the caller, never a throw. Yields batches, about one per input chunk.
 *
 * @throws GatewayError PARSE_INVALID_UTF8 (details `{ row }`), PARSE_RECORD_TOO_LARGE (details
 *   `{ line }`): the 1-based index of the line among the non-blank lines. A line longer than the
 *   limit is refused as soon as the limit is passed, without buffering the rest of it.
 */
export async function* parseNdjsonLines(chunks: AsyncIterable<Uint8Array>, options: NdjsonOptions): AsyncGenerator<NdjsonLine[]> {
  const splitter = new LineSplitter(options.maxRecordBytes);
  for await (const text of decodeUtf8Chunks(chunks, () => splitter.linesYielded + 1)) {
    const lines = splitter.push(text, false);
    if (lines.length > 0) yield lines;
  }
  const lines = splitter.push('', true);
  if (lines.length > 0) yield lines;
}

const CR = 0x0d;
/** JSON's insignificant whitespace (RFC 8259 §2) other than LF, which ends the line. */
const blankLine = /^[ \t\r]*$/;

class LineSplitter {
  /** Non-blank lines returned so far; the line being read is `linesYielded + 1`. */
  linesYielded = 0;
  /** The start of a line that the text so far does not complete. */
  #pending = '';
  readonly #maxLineBytes: number;

  constructor(maxLineBytes: number) {
    // A bug in the caller, not a problem with the file: hence not a GatewayError.
    if (!(maxLineBytes > 0)) throw new RangeError('maxRecordBytes must be positive');
    this.#maxLineBytes = maxLineBytes;
  }

  /** Adds decoded text and returns every line it completes; with `atEnd`, the last line too. */
  push(text: string, atEnd: boolean): NdjsonLine[] {
    const buffer = this.#pending.length === 0 ? text : this.#pending + text;
    const out: NdjsonLine[] = [];
    let pos = 0;
    // The carried text holds no LF, so a long line is not searched again on every chunk.
    for (let lf = buffer.indexOf('\n', this.#pending.length); lf !== -1; lf = buffer.indexOf('\n', pos)) {
      this.#parseLine(buffer, pos, lf, out);
      pos = lf + 1;
    }
    if (atEnd) {
      if (pos < buffer.length) this.#parseLine(buffer, pos, buffer.length, out);
      this.#pending = '';
    } else {
      const pending = (this.#pending = buffer.slice(pos));
      // A final CR may be the start of the line's CRLF, which the limit does not count.
      this.#checkSize(pending, 0, pending.charCodeAt(pending.length - 1) === CR ? pending.length - 1 : pending.length);
    }
    return out;
  }

  #parseLine(buffer: string, start: number, end: number, out: NdjsonLine[]): void {
    if (end > start && buffer.charCodeAt(end - 1) === CR) end--;
    if (end === start) return;
    this.#checkSize(buffer, start, end);
    const line = buffer.slice(start, end);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      // Whitespace-only lines are rare, so they are told apart from bad JSON only once parsing fails.
      if (blankLine.test(line)) return;
      this.linesYielded++;
      out.push({ ok: false });
      return;
    }
    this.linesYielded++;
    out.push({ ok: true, value });
  }

  #checkSize(buffer: string, start: number, end: number): void {
    // A UTF-16 code unit takes 1 to 3 bytes of UTF-8 (a surrogate pair, 4 bytes for 2 units), so
    // only a line of more than a third of the limit in code units needs its bytes counted.
    if ((end - start) * 3 > this.#maxLineBytes && Buffer.byteLength(buffer.slice(start, end), 'utf8') > this.#maxLineBytes) {
      throw new GatewayError('PARSE_RECORD_TOO_LARGE', { line: this.linesYielded + 1, maxRecordBytes: this.#maxLineBytes });
    }
  }
}
