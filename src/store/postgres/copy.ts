import { finished } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Rows into a table by `COPY ... FROM STDIN` in PostgreSQL's binary format: the server takes each
 * value as it is, with none of the per-row work of a query. Staging 200,000 records by COPY took
 * 3.3–3.7 s of server CPU, against 8.4–11.5 s for one `json_to_recordset` INSERT per batch (the same
 * rows and batches, measured on this machine; see the issue 2 note of session 9). The binary format
 * over the text one: nothing to escape, bytea goes as its bytes rather than as hex, and the batch is
 * written into one buffer rather than built from strings, which the main thread's GC paid for.
 */

/** How a column is sent; each must match the column's type exactly (binary COPY does not cast). */
export type CopyType = 'text' | 'int4' | 'bytea';
export type CopyValue = string | number | Buffer | null;

// Header: signature, flags, header extension length. Trailer: a field count of -1.
const signature = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const headerBytes = signature.length + 4 + 4;

/** One buffer holding `rows` in binary COPY format; each row's values in the order of `types`. */
export function copyBinary(types: readonly CopyType[], rows: ReadonlyArray<readonly CopyValue[]>): Buffer {
  // Two passes: the exact size first (a string's UTF-8 length is known only by measuring it).
  const lengths: number[] = [];
  let size = headerBytes + 2;
  for (const row of rows) {
    size += 2 + 4 * types.length;
    for (let i = 0; i < types.length; i++) {
      const value = row[i]!;
      if (value === null) continue;
      const n = byteLength(types[i]!, value);
      lengths.push(n);
      size += n;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = signature.copy(out, 0);
  at = out.writeUInt32BE(0, at);
  at = out.writeUInt32BE(0, at);
  let k = 0;
  for (const row of rows) {
    at = out.writeInt16BE(types.length, at);
    for (let i = 0; i < types.length; i++) {
      const value = row[i]!;
      if (value === null) {
        at = out.writeInt32BE(-1, at);
        continue;
      }
      const n = lengths[k++]!;
      at = out.writeInt32BE(n, at);
      if (typeof value === 'number') at = out.writeInt32BE(value, at);
      else if (typeof value === 'string') at += out.write(value, at, n, 'utf8');
      else at += value.copy(out, at);
    }
  }
  out.writeInt16BE(-1, at);
  return out;
}

function byteLength(type: CopyType, value: Exclude<CopyValue, null>): number {
  if (type === 'int4' && typeof value === 'number' && Number.isInteger(value)) return 4;
  if (type === 'text' && typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (type === 'bytea' && Buffer.isBuffer(value)) return value.length;
  throw new TypeError(`copyBinary: a ${typeof value} for a ${type} column`);
}

/** A table and the columns a COPY fills, in the order of each row's values. */
export interface CopyTarget {
  readonly table: string;
  readonly columns: ReadonlyArray<readonly [name: string, type: CopyType]>;
}

/**
 * COPYs `rows` into `target` on `client`, inside whatever transaction it has open. Resolves once the
 * server has taken every row. The target is the caller's constant, never input.
 */
export async function copyRows(client: PoolClient, target: CopyTarget, rows: ReadonlyArray<readonly CopyValue[]>): Promise<void> {
  const data = copyBinary(target.columns.map(([, type]) => type), rows);
  const sink = client.query(copyFrom(`COPY ${target.table} (${target.columns.map(([name]) => name).join(', ')}) FROM STDIN (FORMAT binary)`));
  sink.end(data);
  await finished(sink);
}
