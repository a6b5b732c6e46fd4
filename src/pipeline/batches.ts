import type { RawRecord } from '../parse/read-records.js';
import { concatPrepared, type PreparedBatch } from './prepare-batch.js';

/** Regroups the parser's chunk-sized arrays into staging batches of `size` (the last may be smaller). */
export async function* batches<T>(source: AsyncIterable<T[]>, size: number): AsyncGenerator<T[]> {
  let pending: T[] = [];
  for await (const items of source) {
    for (const item of items) pending.push(item);
    while (pending.length >= size) {
      yield pending.slice(0, size);
      pending = pending.slice(size);
    }
  }
  if (pending.length > 0) yield pending;
}

/** A staging batch: prepared records, and the number of data rows they came from. */
export interface PreparedRows {
  readonly rows: number;
  readonly prepared: PreparedBatch;
}

/**
 * Prepares each chunk of parsed records as it comes (a few dozen rows of CSV), so that the records
 * die young and V8's scavenger frees them cheaply, and gathers the prepared ones (strings) into
 * staging batches of `size` rows or more. Gathering raw records first kept a whole batch of them
 * alive long enough to be promoted to the old generation.
 */
export function preparedInBatches(chunks: AsyncIterable<RawRecord[]>, size: number, prepare: (records: readonly RawRecord[]) => PreparedBatch): AsyncGenerator<PreparedRows> {
  return gathered(preparedChunks(chunks, size, prepare), size);
}

/** Each chunk of parsed records prepared as it comes, a staging batch at most at a time. */
export async function* preparedChunks(chunks: AsyncIterable<RawRecord[]>, size: number, prepare: (records: readonly RawRecord[]) => PreparedBatch): AsyncGenerator<PreparedRows> {
  for await (const chunk of chunks) {
    // A JOSE body arrives as one chunk: it is prepared a batch at a time.
    for (let from = 0; from < chunk.length; from += size) {
      const part = chunk.length <= size ? chunk : chunk.slice(from, from + size);
      yield { rows: part.length, prepared: prepare(part) };
    }
  }
}

/** Prepared chunks gathered, in order, into staging batches of `size` rows or more (the last may be smaller). */
export async function* gathered(parts: AsyncIterable<PreparedRows>, size: number): AsyncGenerator<PreparedRows> {
  let pending: PreparedBatch[] = [];
  let rows = 0;
  for await (const part of parts) {
    pending.push(part.prepared);
    rows += part.rows;
    if (rows >= size) {
      yield { rows, prepared: concatPrepared(pending) };
      pending = [];
      rows = 0;
    }
  }
  if (rows > 0) yield { rows, prepared: concatPrepared(pending) };
}
