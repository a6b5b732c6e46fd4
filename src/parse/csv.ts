import { GatewayError } from '../errors/gateway-error.js';
import { decodeUtf8Chunks } from './utf8.js';

export interface DelimitedOptions {
  /** ',' for CSV, '|' for pipe-delimited sources. */
  delimiter: string;
  /**
   * The largest row accepted, in characters (≤ its UTF-8 bytes). A longer row, even an unterminated
   * quoted field, fails fast with PARSE_RECORD_TOO_LARGE without buffering much more than this.
   */
  maxRecordBytes: number;
}

/**
 * Parses RFC 4180 text from a byte stream: quoted fields may hold the delimiter, `""` and CR/LF line
 * breaks; LF or CRLF row ends; a leading BOM is dropped; blank lines are skipped. Yields batches of
 * rows (one per input chunk), so the caller pays one await per batch, not per row. The header row is
 * yielded like any other.
 *
 * Speed: a row without a quote (nearly all of them) is cut with indexOf and String#split; only rows
 * holding a quote go through the character state machine.
 * @throws GatewayError PARSE_INVALID_UTF8, PARSE_RECORD_TOO_LARGE, PARSE_MALFORMED (details: row, 1-based among rows yielded)
 */
export async function* parseDelimitedRows(chunks: AsyncIterable<Uint8Array>, options: DelimitedOptions): AsyncGenerator<string[][]> {
  const scanner = new RowScanner(options.delimiter, options.maxRecordBytes);
  for await (const text of decodeUtf8Chunks(chunks, () => scanner.rowsSeen + 1)) {
    const rows = scanner.push(text, false);
    if (rows.length > 0) yield rows;
  }
  const rows = scanner.push('', true);
  if (rows.length > 0) yield rows;
}

class RowScanner {
  #pending = '';
  rowsSeen = 0;

  constructor(
    private readonly delimiter: string,
    private readonly maxRowChars: number,
  ) {}

  /** Adds text and returns every row completed by it; at the end, the last row too. */
  push(text: string, atEnd: boolean): string[][] {
    const buffer = this.#pending.length === 0 ? text : this.#pending + text;
    const rows: string[][] = [];
    const { delimiter, maxRowChars } = this;
    let pos = 0;
    const length = buffer.length;
    while (pos < length) {
      const newline = buffer.indexOf('\n', pos);
      const lineEnd = newline === -1 ? length : newline;
      if (lineEnd - pos > maxRowChars) this.#tooLarge();
      if (newline === -1 && !atEnd) break; // an incomplete row waits for more text
      let line = buffer.slice(pos, lineEnd);
      if (line.indexOf('"') === -1) {
        if (line.endsWith('\r')) line = line.slice(0, -1);
        pos = lineEnd + 1;
        if (line.length === 0) continue;
        this.rowsSeen++;
        rows.push(line.split(delimiter));
        continue;
      }
      const quoted = this.#scanQuoted(buffer, pos, atEnd);
      if (quoted === null) break; // a quoted line break runs past the text we have
      this.rowsSeen++;
      rows.push(quoted.cells);
      pos = quoted.next;
    }
    this.#pending = pos >= length ? '' : buffer.slice(pos);
    if (this.#pending.length > maxRowChars) this.#tooLarge();
    return rows;
  }

  /** The RFC 4180 state machine for one row that holds a quote. Null when the row is not complete yet. */
  #scanQuoted(buffer: string, start: number, atEnd: boolean): { cells: string[]; next: number } | null {
    const { delimiter } = this;
    const row = this.rowsSeen + 1;
    const cells: string[] = [];
    let pos = start;
    const length = buffer.length;
    for (;;) {
      if (pos - start > this.maxRowChars) this.#tooLarge();
      if (buffer[pos] === '"') {
        // Quoted field: runs to the closing quote; "" is a literal quote.
        let value = '';
        let from = pos + 1;
        for (;;) {
          const quote = buffer.indexOf('"', from);
          if (quote === -1) {
            if (atEnd) throw new GatewayError('PARSE_MALFORMED', { row, reason: 'unterminated quoted field' });
            if (length - start > this.maxRowChars) this.#tooLarge();
            return null;
          }
          if (quote + 1 === length && !atEnd) return null; // is it "" or the closing quote? wait and see
          value += buffer.slice(from, quote);
          if (buffer[quote + 1] === '"') {
            value += '"';
            from = quote + 2;
            continue;
          }
          pos = quote + 1;
          break;
        }
        cells.push(value);
      } else {
        // Unquoted field: runs to the next delimiter or line end, and may hold no quote.
        let end = pos;
        while (end < length && buffer[end] !== delimiter && buffer[end] !== '\n' && buffer[end] !== '\r') {
          if (buffer[end] === '"') throw new GatewayError('PARSE_MALFORMED', { row, reason: 'quote inside an unquoted field' });
          end++;
        }
        if (end === length && !atEnd) return null;
        cells.push(buffer.slice(pos, end));
        pos = end;
      }
      // After a field: a delimiter, a line end, or the end of the text.
      if (pos >= length) {
        if (!atEnd) return null;
        return { cells, next: pos };
      }
      const c = buffer[pos];
      if (c === delimiter) {
        pos++;
        continue;
      }
      if (c === '\n') return { cells, next: pos + 1 };
      if (c === '\r') {
        if (pos + 1 >= length && !atEnd) return null;
        if (pos + 1 >= length || buffer[pos + 1] === '\n') return { cells, next: pos + 2 };
      }
      throw new GatewayError('PARSE_MALFORMED', { row, reason: 'text after a closing quote' });
    }
  }

  #tooLarge(): never {
    throw new GatewayError('PARSE_RECORD_TOO_LARGE', { row: this.rowsSeen + 1, maxRecordBytes: this.maxRowChars });
  }
}
