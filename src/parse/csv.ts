import { Buffer } from 'node:buffer';
import { GatewayError } from '../errors/gateway-error.js';
import { decodeUtf8Chunks } from './utf8.js';

export interface DelimitedOptions {
  /** ',' for CSV, '|' for pipe-delimited sources. One character, never a quote or a line break. */
  delimiter: string;
  /**
   * The largest row accepted, in bytes of UTF-8, not counting its line end. A longer row (even an
   * unterminated quoted field) fails fast with PARSE_RECORD_TOO_LARGE without buffering much more
   * than this.
   */
  maxRecordBytes: number;
}

/**
 * Parses RFC 4180 text from a byte stream. Quoted fields may hold the delimiter, `""` (one quote)
 * and CR/LF line breaks; rows end with LF or CRLF, and the last one may have no line end; a leading
 * BOM is dropped and completely empty lines are skipped. Cells are returned exactly as sent.
 *
 * Yields batches of rows (each row an array of cell strings), in order, about one batch per input
 * chunk, so the caller pays one await per batch, not per row. The header row is yielded like any
 * other. Only the incomplete last row of a chunk is carried over to the next. Cells are slices of
 * the chunk's text, which V8 may keep alive while any of its cells lives: hold on to a batch, not
 * to single cells across the whole file (a Set of every account_ref would pin every chunk).
 *
 * @throws GatewayError PARSE_INVALID_UTF8, PARSE_RECORD_TOO_LARGE, PARSE_MALFORMED, with details
 *   `{ row }`: the 1-based index of the row among the rows yielded (header = 1). For invalid UTF-8 it
 *   is the first row not yet complete when the chunk holding the bad byte arrived.
 */
export async function* parseDelimitedRows(chunks: AsyncIterable<Uint8Array>, options: DelimitedOptions): AsyncGenerator<string[][]> {
  const scanner = new RowScanner(options);
  for await (const text of decodeUtf8Chunks(chunks, () => scanner.rowsYielded + 1)) {
    const rows = scanner.push(text, false);
    if (rows.length > 0) yield rows;
  }
  const rows = scanner.push('', true);
  if (rows.length > 0) yield rows;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * The row splitter behind parseDelimitedRows. Speed matters here (files of millions of rows), so
 * cells are cut with indexOf, which runs natively, rather than a character at a time: the next LF,
 * quote and delimiter are each searched for again only once the cursor passes them, so a chunk is
 * scanned about once for each, and each cell costs one slice.
 */
class RowScanner {
  /** Rows returned so far; the row being read is `rowsYielded + 1`. */
  rowsYielded = 0;
  /** The start of a row that the text so far does not complete. */
  #pending = '';
  /** In the text being scanned: the next LF, quote and delimiter at or after the cursor (-1: none). */
  #nextLf = -1;
  #nextQuote = -1;
  #nextDelimiter = -1;
  readonly #delimiter: string;
  readonly #delimiterCode: number;
  readonly #maxRowBytes: number;

  constructor(options: DelimitedOptions) {
    const { delimiter, maxRecordBytes } = options;
    // A bug in the caller, not a problem with the file: hence not a GatewayError.
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') {
      throw new RangeError('delimiter must be one character other than a quote, CR or LF');
    }
    if (!(maxRecordBytes > 0)) throw new RangeError('maxRecordBytes must be positive');
    this.#delimiter = delimiter;
    this.#delimiterCode = delimiter.charCodeAt(0);
    this.#maxRowBytes = maxRecordBytes;
  }

  /** Adds decoded text and returns every row it completes; with `atEnd`, the last row too. */
  push(text: string, atEnd: boolean): string[][] {
    const buffer = this.#pending.length === 0 ? text : this.#pending + text;
    this.#nextLf = buffer.indexOf('\n');
    this.#nextQuote = buffer.indexOf('"');
    this.#nextDelimiter = buffer.indexOf(this.#delimiter);
    const rows: string[][] = [];
    let pos = 0;
    while (pos < buffer.length) {
      const next = this.#readRow(buffer, pos, atEnd, rows);
      if (next === -1) break; // the rest of the row comes with the next chunk
      pos = next;
    }
    this.#pending = pos >= buffer.length ? '' : buffer.slice(pos);
    this.#checkPendingSize();
    return rows;
  }

  /**
   * Reads the row starting at `rowStart` and pushes it to `rows`, unless it is an empty line.
   * @returns where the next row starts, or -1 when the text so far does not complete the row
   */
  #readRow(buffer: string, rowStart: number, atEnd: boolean, rows: string[][]): number {
    const length = buffer.length;
    const cells: string[] = [];
    let cellStart = rowStart;
    for (;;) {
      if (this.#nextQuote !== -1 && this.#nextQuote < cellStart) this.#nextQuote = buffer.indexOf('"', cellStart);
      if (cellStart === this.#nextQuote) {
        // A quoted field runs to the first quote not followed by another; "" stands for one quote.
        let from = cellStart + 1;
        let close = buffer.indexOf('"', from);
        let unescaped = ''; // built only when the field holds a ""
        for (;;) {
          if (close === -1) {
            if (atEnd) throw this.#malformed(); // unterminated quoted field
            return -1;
          }
          // A quote ending the text may be the first half of "": wait for the next chunk to tell.
          if (close + 1 === length && !atEnd) return -1;
          if (buffer.charCodeAt(close + 1) !== QUOTE) break;
          unescaped += buffer.slice(from, close + 1);
          from = close + 2;
          close = buffer.indexOf('"', from);
        }
        cells.push(unescaped + buffer.slice(from, close));
        // After the closing quote: a delimiter, a line end or the end of the text, nothing else.
        const after = close + 1;
        this.#nextQuote = close; // passed: searched again from the next cell
        if (after === length) return this.#finishRow(buffer, rowStart, after, cells, rows, after); // atEnd, as checked above
        const c = buffer.charCodeAt(after);
        if (c === this.#delimiterCode) {
          cellStart = after + 1;
          continue;
        }
        if (c === LF) return this.#finishRow(buffer, rowStart, after, cells, rows, after + 1);
        if (c === CR) {
          if (after + 1 === length) {
            if (!atEnd) return -1; // is it CRLF? wait for the next chunk to tell
            return this.#finishRow(buffer, rowStart, after, cells, rows, after + 1);
          }
          if (buffer.charCodeAt(after + 1) === LF) return this.#finishRow(buffer, rowStart, after, cells, rows, after + 2);
        }
        throw this.#malformed(); // text between a closing quote and the next delimiter
      }
      // An unquoted field runs to the next delimiter or line end.
      if (this.#nextDelimiter !== -1 && this.#nextDelimiter < cellStart) this.#nextDelimiter = buffer.indexOf(this.#delimiter, cellStart);
      if (this.#nextLf !== -1 && this.#nextLf < cellStart) this.#nextLf = buffer.indexOf('\n', cellStart);
      const lineEnd = this.#nextLf === -1 ? length : this.#nextLf;
      const delimiterFirst = this.#nextDelimiter !== -1 && this.#nextDelimiter < lineEnd;
      const cellEnd = delimiterFirst ? this.#nextDelimiter : lineEnd;
      // RFC 4180 §2 (5-7): a quote may only open a field; inside an unquoted field it is malformed.
      if (this.#nextQuote !== -1 && this.#nextQuote < cellEnd) throw this.#malformed();
      if (delimiterFirst) {
        cells.push(buffer.slice(cellStart, cellEnd));
        cellStart = cellEnd + 1;
        continue;
      }
      if (lineEnd === length && !atEnd) return -1;
      let end = lineEnd;
      if (end > cellStart && buffer.charCodeAt(end - 1) === CR) end--;
      if (end === rowStart) return lineEnd + 1; // an empty line, skipped
      cells.push(buffer.slice(cellStart, end));
      return this.#finishRow(buffer, rowStart, end, cells, rows, lineEnd + 1);
    }
  }

  #finishRow(buffer: string, rowStart: number, rowEnd: number, cells: string[], rows: string[][], next: number): number {
    this.#checkRowSize(buffer, rowStart, rowEnd);
    this.rowsYielded++;
    rows.push(cells);
    return next;
  }

  #checkRowSize(buffer: string, start: number, end: number): void {
    // A UTF-16 code unit takes 1 to 3 bytes of UTF-8 (a surrogate pair, 4 bytes for 2 units), so
    // only a row of more than a third of the limit in code units needs its bytes counted.
    if ((end - start) * 3 > this.#maxRowBytes && Buffer.byteLength(buffer.slice(start, end), 'utf8') > this.#maxRowBytes) {
      throw this.#tooLarge();
    }
  }

  /** The carried row is checked on every chunk, so a row with no end is refused once it passes the limit. */
  #checkPendingSize(): void {
    const pending = this.#pending;
    // A final CR may be the start of the row's CRLF, which the limit does not count.
    const end = pending.length > 0 && pending.charCodeAt(pending.length - 1) === CR ? pending.length - 1 : pending.length;
    this.#checkRowSize(pending, 0, end);
  }

  #malformed(): GatewayError {
    return new GatewayError('PARSE_MALFORMED', { row: this.rowsYielded + 1 });
  }

  #tooLarge(): GatewayError {
    return new GatewayError('PARSE_RECORD_TOO_LARGE', { row: this.rowsYielded + 1, maxRecordBytes: this.#maxRowBytes });
  }
}
