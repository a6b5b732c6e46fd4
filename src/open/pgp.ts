import { open } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import type { Limits } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { useBoundedDecompression } from './decompression.js';
import { pgpDecryptConfig } from './limits.js';

export interface OpenPgpOptions {
  decryptionKeys: readonly openpgp.PrivateKey[];
  /** The source's registered keys: a signature by any other key is refused. */
  verificationKeys: readonly openpgp.PublicKey[];
  requireSignature: boolean;
  limits: Limits;
}

/** A decrypted file whose integrity and signature are only known once it has been read to the end. */
export interface OpenedFile {
  /**
   * The decrypted bytes, unauthenticated until `finish()` resolves: feed them into staging only.
   * A consumer may stop early (a parse error); `finish()` still reads the rest.
   * Reading throws OPEN_INTEGRITY_FAILED or OPEN_DECOMPRESSED_TOO_LARGE.
   */
  readonly plaintext: AsyncIterable<Uint8Array>;
  /**
   * Reads whatever the consumer left, so that the integrity check (MDC or AEAD tag) at the end of
   * the message runs, then checks the signature against the source's key.
   * @throws GatewayError OPEN_INTEGRITY_FAILED, OPEN_SIGNATURE_MISSING, OPEN_SIGNATURE_INVALID
   */
  finish(): Promise<{ signerKeyId: string | null }>;
  /** Stops reading and releases the file. */
  abort(): Promise<void>;
}

/**
 * Opens an OpenPGP message from a spooled file: binary or ASCII-armoured, compressed or not,
 * SEIPDv1 (GnuPG 2.2), SEIPDv2 or OCB (GnuPG 2.4). Memory stays bounded: the file is read with
 * real backpressure, including through decompression (see open/decompression.ts), and the plaintext
 * is streamed (see open/limits.ts for why that is safe).
 * @throws GatewayError OPEN_NOT_OPENPGP, OPEN_DECRYPT_FAILED; the plaintext iterator throws
 *   OPEN_INTEGRITY_FAILED or OPEN_DECOMPRESSED_TOO_LARGE.
 */
export async function openPgpFile(path: string, options: OpenPgpOptions): Promise<OpenedFile> {
  useBoundedDecompression();
  const config = pgpDecryptConfig(options.limits);
  const armoured = await looksArmoured(path);
  const bytes = fileWebStream(path, options.limits.decryptReadChunkBytes);
  let message: openpgp.Message<ReadableStream<Uint8Array>>;
  try {
    message = armoured
      ? await openpgp.readMessage({ armoredMessage: bytes.pipeThrough(new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>), config })
      : await openpgp.readMessage({ binaryMessage: bytes, config });
  } catch (cause) {
    await bytes.cancel().catch(() => {});
    throw new GatewayError('OPEN_NOT_OPENPGP', undefined, { cause });
  }

  let data: ReadableStream<Uint8Array>;
  let signatures: openpgp.DecryptMessageResult['signatures'];
  try {
    const result = await openpgp.decrypt({
      message,
      decryptionKeys: [...options.decryptionKeys],
      verificationKeys: [...options.verificationKeys],
      expectSigned: false, // checked below, after the stream, so that the code says which failure it was
      format: 'binary',
      config,
    });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- openpgp types the stream through @openpgp/web-stream-tools, which the linter cannot resolve (tsc can).
    data = result.data;
    signatures = result.signatures;
  } catch (cause) {
    await bytes.cancel().catch(() => {});
    throw mapStreamError(cause, 'OPEN_DECRYPT_FAILED');
  }

  const reader = data.getReader();
  const read = async (): Promise<ReadableStreamReadResult<Uint8Array>> => {
    try {
      return await reader.read();
    } catch (cause) {
      throw mapStreamError(cause, 'OPEN_INTEGRITY_FAILED');
    }
  };
  return {
    plaintext: {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<Uint8Array>> => {
          const step = await read();
          return step.done ? { done: true, value: undefined } : { done: false, value: step.value };
        },
        // Stopping early must not cancel the stream: finish() still has to reach the integrity check.
        return: async (): Promise<IteratorResult<Uint8Array>> => ({ done: true, value: undefined }),
      }),
    },
    finish: async () => {
      while (!(await read()).done) {
        // discard: only the integrity check at the end matters now
      }
      return verifySignatures(signatures, options.requireSignature);
    },
    abort: async () => {
      await reader.cancel().catch(() => {});
    },
  };
}

async function verifySignatures(signatures: openpgp.DecryptMessageResult['signatures'], required: boolean): Promise<{ signerKeyId: string | null }> {
  if (signatures.length === 0) {
    if (required) throw new GatewayError('OPEN_SIGNATURE_MISSING');
    return { signerKeyId: null };
  }
  let failure: unknown;
  for (const signature of signatures) {
    try {
      await signature.verified;
      return { signerKeyId: signature.keyID.toHex() };
    } catch (cause) {
      failure = cause;
    }
  }
  // A file signed only by keys other than the source's registered ones, or whose digest does not match.
  if (required) throw new GatewayError('OPEN_SIGNATURE_INVALID', undefined, { cause: failure });
  return { signerKeyId: null };
}

/** openpgp.js reports everything as Error with a message; we keep its message only as `cause`. */
function mapStreamError(cause: unknown, fallback: 'OPEN_INTEGRITY_FAILED' | 'OPEN_DECRYPT_FAILED'): GatewayError {
  if (cause instanceof GatewayError) return cause;
  const text = cause instanceof Error ? cause.message : '';
  if (text.includes('Maximum decompressed message size exceeded')) return new GatewayError('OPEN_DECOMPRESSED_TOO_LARGE', undefined, { cause });
  if (/Modification detected|Authentication tag mismatch|Unsupported state or unable to authenticate/i.test(text)) {
    return new GatewayError('OPEN_INTEGRITY_FAILED', undefined, { cause });
  }
  return new GatewayError(fallback, undefined, { cause });
}

async function looksArmoured(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead).toString('latin1').trimStart().startsWith('-----BEGIN PGP');
  } finally {
    await handle.close();
  }
}

/**
 * A byte stream over a file that reads only when pulled. `Readable.toWeb` on Node 20 reads ahead
 * without honouring backpressure (STACK-NOTES §2 saw 100-150 MB of read-ahead); this does not.
 */
export function fileWebStream(path: string, chunkBytes: number): ReadableStream<Uint8Array> {
  let handle: import('node:fs/promises').FileHandle | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async start() {
        handle = await open(path, 'r');
      },
      async pull(controller) {
        const buffer = Buffer.allocUnsafe(chunkBytes);
        const { bytesRead } = await handle!.read(buffer, 0, chunkBytes, null);
        if (bytesRead === 0) {
          await handle!.close();
          handle = undefined;
          controller.close();
        } else {
          controller.enqueue(new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead));
        }
      },
      async cancel() {
        await handle?.close();
        handle = undefined;
      },
    },
    { highWaterMark: 1 },
  );
}
