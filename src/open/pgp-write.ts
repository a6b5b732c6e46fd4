import { open } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { pgpEncryptConfig } from './limits.js';

export interface EncryptOptions {
  encryptionKeys: readonly openpgp.PublicKey[];
  signingKeys: readonly openpgp.PrivateKey[];
  armor?: boolean;
}

/**
 * Encrypts and signs a stream of bytes into a file, the way the gateway writes anything that leaves
 * it (acknowledgements) and the demo writes creditor files. SEIPDv1 to GnuPG 2.2 keys (limits.ts).
 */
export async function encryptToFile(chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, outPath: string, options: EncryptOptions): Promise<void> {
  const encoder = new TextEncoder();
  const iterator: AsyncIterator<Uint8Array | string> | Iterator<Uint8Array | string> =
    Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]();
  const input = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const step = await iterator.next();
      if (step.done === true) controller.close();
      else controller.enqueue(typeof step.value === 'string' ? encoder.encode(step.value) : step.value);
    },
  });
  const message = await openpgp.createMessage({ binary: input, format: 'binary' });
  const common = { message, encryptionKeys: [...options.encryptionKeys], signingKeys: [...options.signingKeys], config: pgpEncryptConfig };
  const encrypted = (options.armor === true
    ? await openpgp.encrypt({ ...common, format: 'armored' })
    : await openpgp.encrypt({ ...common, format: 'binary' })) as ReadableStream<Uint8Array | string>;
  const handle = await open(outPath, 'w', 0o600);
  try {
    const reader = encrypted.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await handle.write(typeof value === 'string' ? encoder.encode(value) : value);
    }
  } finally {
    await handle.close();
  }
}

/** Encrypts and signs a small in-memory payload (an acknowledgement). */
export async function encryptBytes(payload: Uint8Array, options: EncryptOptions): Promise<Uint8Array> {
  const message = await openpgp.createMessage({ binary: payload, format: 'binary' });
  return (await openpgp.encrypt({
    message, encryptionKeys: [...options.encryptionKeys], signingKeys: [...options.signingKeys], format: 'binary', config: pgpEncryptConfig,
  })) as Uint8Array;
}
