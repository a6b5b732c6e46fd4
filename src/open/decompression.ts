import { Readable, type Transform } from 'node:stream';
import { createGunzip, createInflate, createInflateRaw } from 'node:zlib';

/**
 * Bytes of compressed input queued in front of zlib, at most, before the writer has to wait. The
 * output side keeps Node's own bound (the zlib stream's readableHighWaterMark, 16 KiB).
 */
const queuedInputBytes = 64 * 1024;

/** What a DecompressionStream's writable takes (BufferSource, with any backing buffer). */
type CompressedChunk = ArrayBufferView | ArrayBufferLike;

/**
 * A `DecompressionStream` (WHATWG Compression Streams) whose input side honours backpressure.
 *
 * Why: openpgp.js inflates ZLIB/ZIP packets, which GnuPG writes by default, with the global
 * `DecompressionStream`. On Node 20 that class queues input with the zlib stream's
 * `writableHighWaterMark` (16384, meant as bytes) used as a count of chunks (internal/webstreams/
 * adapters.js, `newWritableStreamFromStreamWritable`: `{ highWaterMark }` without a size function),
 * and openpgp.js hands it 8 KiB chunks: up to 128 MiB of a file's ciphertext was read into memory
 * ahead of the records (the whole 67 MB of a 1M-record file, measured: RSS grew with input size).
 * This one counts bytes, so at most `queuedInputBytes` plus zlib's own 16 KiB wait in front of zlib,
 * which Node's Transform stops taking while the output side is full. Same zlib classes, options and
 * errors as Node's.
 */
export class BoundedDecompressionStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<CompressedChunk>;
  readonly #step: (call: () => void) => Promise<void>;

  constructor(format: CompressionFormat) {
    const zlib = inflaterFor(format);
    let failure: Error | undefined;
    let pending: ((error?: Error) => void) | undefined;
    const settle = (error?: Error) => {
      const done = pending;
      pending = undefined;
      done?.(error);
    };
    zlib.on('error', (error: Error) => {
      failure ??= error;
      settle(error);
    });
    zlib.on('close', () => settle(failure ?? new Error('decompression stream closed')));
    // One zlib call at a time (the WritableStream never overlaps write and close): its promise
    // settles on the call's callback, or on the stream's error or close if that comes first.
    this.#step = (call) => new Promise<void>((resolve, reject) => {
      if (failure !== undefined) {
        reject(failure);
        return;
      }
      pending = (error) => (error === undefined ? resolve() : reject(error));
      call();
    });

    // Node's adapter for the output side is right: it counts bytes (ByteLengthQueuingStrategy).
    this.readable = Readable.toWeb(zlib) as ReadableStream<Uint8Array>;
    this.writable = new WritableStream<CompressedChunk>(
      {
        // As Node's adapter: done at once while zlib's own buffer (16 KiB) has room, else at 'drain',
        // which comes once the output side has been read (or at an error or close, above).
        write: (chunk) => this.#step(() => {
          if (zlib.write(toBytes(chunk))) settle();
          else zlib.once('drain', () => settle());
        }),
        // end()'s callback runs on 'finish', after zlib has flushed its last output.
        close: () => this.#step(() => zlib.end(() => settle(failure))),
        abort: (reason) => {
          zlib.destroy(reason instanceof Error ? reason : undefined);
        },
      },
      { highWaterMark: queuedInputBytes, size: (chunk) => chunk.byteLength },
    );
  }
}

/** As Node's DecompressionStream: an unknown format is a TypeError (openpgp.js then uses its own inflater). */
function inflaterFor(format: CompressionFormat): Transform {
  switch (format) {
    case 'deflate':
      return createInflate();
    case 'deflate-raw':
      return createInflateRaw();
    case 'gzip':
      return createGunzip();
    default:
      throw new TypeError(`unsupported compression format: ${String(format)}`);
  }
}

function toBytes(chunk: CompressedChunk): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return new Uint8Array(chunk);
}

/**
 * Makes openpgp.js inflate through BoundedDecompressionStream. openpgp.js has no option for its
 * decompressor: it calls `new DecompressionStream(format)` on the global at each compressed packet,
 * so the global is what can be replaced. Idempotent; the class keeps the standard interface, so any
 * other user of the global gets the same results with bounded memory.
 */
export function useBoundedDecompression(): void {
  if (globalThis.DecompressionStream === (BoundedDecompressionStream as unknown as typeof DecompressionStream)) return;
  globalThis.DecompressionStream = BoundedDecompressionStream as unknown as typeof DecompressionStream;
}
