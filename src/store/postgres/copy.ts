import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Rows into a table by `COPY ... FROM STDIN` in PostgreSQL's text format: the server reads them with
 * its COPY parser, with none of the per-row work of a query. Staging 200,000 records took 3.3–3.7 s of
 * server CPU this way, against 8.4–11.5 s for one `json_to_recordset` INSERT per batch (the same rows
 * and batches, measured on this machine; see the issue 2 note of session 9).
 */

/** A column value as COPY's text format spells it: `\N` for NULL; bytea as `\\x` and hex. */
export type CopyValue = string | number | Buffer | null;

/** One row's line: tab-separated values, ending in a newline. */
export function copyLine(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) line += '\t';
    line += copyField(values[i]!);
  }
  return line + '\n';
}

function copyField(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  // bytea's hex input `\x…`, whose backslash COPY's own escaping doubles.
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  return needsEscape.test(value) ? value.replace(escapable, (c) => escapes[c]!) : value;
}

// COPY text format: a backslash starts an escape, and tab, newline and carriage return end a value or
// a row. Nothing else is special (the delimiter is the default tab).
const needsEscape = /[\\\t\n\r]/;
const escapable = /[\\\t\n\r]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * Sends `lines` (copyLine's) to `COPY table (columns) FROM STDIN` on `client`, inside whatever
 * transaction it has open. Resolves once the server has taken every row. `table` and `columns` are
 * the caller's constants, never input.
 */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], lines: string): Promise<void> {
  const sink = client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
  sink.end(lines);
  await finished(sink);
}
