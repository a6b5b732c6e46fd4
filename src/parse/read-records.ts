import type { Limits, RecordKind, SourceFormat } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { parseDelimitedRows } from './csv.js';
import { parseNdjsonLines } from './ndjson.js';
import { newControlTotals, addDataRow, setTrailer, type ControlTotals } from './control-totals.js';
import { columnMapper, type ColumnMapper } from './mapping.js';

/** One data row as sent, with canonical field names. CSV values are strings; empty cells are absent. */
export interface RawRecord {
  /** 1-based data-row number (header and trailer excluded), as in the acknowledgement. */
  readonly recordNo: number;
  readonly fields: Readonly<Record<string, unknown>>;
  /** The row could not be read as a record (wrong column count, not a JSON object). */
  readonly malformed?: true;
}

export interface ReadRecordsOptions {
  format: SourceFormat;
  kind: RecordKind;
  /** The source's column renames (their name → our name). */
  mapping: Readonly<Record<string, string>>;
  /** Fields the kind's schema knows; other columns are dropped here and counted. */
  knownFields: ReadonlySet<string>;
  limits: Limits;
}

/** What the reader learned about the file as a whole: control totals and dropped columns. */
export interface FileTally {
  readonly totals: ControlTotals;
  /** Field name → number of records it was dropped from, never stored. */
  readonly droppedFields: Map<string, number>;
}

export function newFileTally(): FileTally {
  return { totals: newControlTotals(), droppedFields: new Map() };
}

/** Fields without which a header is not a header (a file sent without its column-name row). */
const headerMustName: Record<RecordKind, string> = { placement: 'account_ref', recall: 'account_ref', update: 'account_ref' };

/**
 * Turns decrypted bytes into batches of raw records, whatever the format, counting control totals
 * over every data row as sent. The trailer (CSV `TRAILER,<count>,<balance>` or NDJSON
 * `{"trailer": {...}}`) must be the last row.
 * @throws GatewayError PARSE_* and FILE_TRAILER_INVALID; file-level only: record problems are `malformed` rows.
 */
export async function* readRecords(plaintext: AsyncIterable<Uint8Array>, options: ReadRecordsOptions, tally: FileTally): AsyncGenerator<RawRecord[]> {
  if (options.format === 'ndjson') yield* readNdjson(plaintext, options, tally);
  else yield* readDelimited(plaintext, options, tally);
}

async function* readDelimited(plaintext: AsyncIterable<Uint8Array>, options: ReadRecordsOptions, tally: FileTally): AsyncGenerator<RawRecord[]> {
  const delimiter = options.format === 'pipe' ? '|' : ',';
  let mapper: ColumnMapper | undefined;
  let recordNo = 0;
  let trailerSeen = false;
  for await (const rows of parseDelimitedRows(plaintext, { delimiter, maxRecordBytes: options.limits.maxRecordBytes })) {
    const batch: RawRecord[] = [];
    for (const cells of rows) {
      if (mapper === undefined) {
        mapper = columnMapper(cells, options, headerMustName[options.kind]);
        continue;
      }
      if (trailerSeen) throw new GatewayError('FILE_TRAILER_INVALID', { reason: 'not the last row' });
      if (cells[0] === 'TRAILER') {
        trailerSeen = true;
        setTrailer(tally.totals, cells[1], cells[2]);
        continue;
      }
      recordNo = nextRecordNo(recordNo, options.limits);
      if (cells.length !== mapper.width) {
        addDataRow(tally.totals, null); // unreadable: a trailer sum cannot then be confirmed
        batch.push({ recordNo, fields: {}, malformed: true });
        continue;
      }
      const fields = mapper.toFields(cells, tally.droppedFields);
      addDataRow(tally.totals, fields.balance);
      batch.push({ recordNo, fields });
    }
    if (batch.length > 0) yield batch;
  }
  if (mapper === undefined) throw new GatewayError('PARSE_HEADER_MISSING');
}

async function* readNdjson(plaintext: AsyncIterable<Uint8Array>, options: ReadRecordsOptions, tally: FileTally): AsyncGenerator<RawRecord[]> {
  const mapper = columnMapper(null, options, headerMustName[options.kind]);
  let recordNo = 0;
  let trailerSeen = false;
  for await (const lines of parseNdjsonLines(plaintext, { maxRecordBytes: options.limits.maxRecordBytes })) {
    const batch: RawRecord[] = [];
    for (const line of lines) {
      if (trailerSeen) throw new GatewayError('FILE_TRAILER_INVALID', { reason: 'not the last line' });
      const value = line.ok ? line.value : undefined;
      const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
      if (isObject && 'trailer' in value && Object.keys(value).length === 1) {
        const t = value.trailer as Record<string, unknown> | null;
        if (t === null || typeof t !== 'object') throw new GatewayError('FILE_TRAILER_INVALID', { reason: 'trailer is not an object' });
        trailerSeen = true;
        setTrailer(tally.totals, scalarText(t.record_count), scalarText(t.total_balance));
        continue;
      }
      recordNo = nextRecordNo(recordNo, options.limits);
      if (!isObject) {
        addDataRow(tally.totals, null); // unreadable: a trailer sum cannot then be confirmed
        batch.push({ recordNo, fields: {}, malformed: true });
        continue;
      }
      const fields = mapper.objectToFields(value as Record<string, unknown>, tally.droppedFields);
      addDataRow(tally.totals, fields.balance);
      batch.push({ recordNo, fields });
    }
    if (batch.length > 0) yield batch;
  }
}

function nextRecordNo(current: number, limits: Limits): number {
  if (current >= limits.maxRecordsPerFile) throw new GatewayError('PARSE_TOO_MANY_RECORDS', { maxRecordsPerFile: limits.maxRecordsPerFile });
  return current + 1;
}

/** A trailer value as text: numbers and strings only (anything else is a malformed trailer). */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return value === undefined || value === null ? undefined : '?';
}
