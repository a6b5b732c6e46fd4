import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../errors/gateway-error.js';

export interface SpooledFile {
  sha256: string;
  sizeBytes: number;
  /** Final path of the bytes, exactly as received (still encrypted). */
  path: string;
}

/**
 * Writes received bytes into the spool exactly as received, hashing while writing, before anything
 * else happens to them (DESIGN §2). The file is fsynced and renamed into place, so a spooled file is
 * always whole: a crash mid-write leaves only a `.incoming-*` temp file, which is never processed.
 * @throws GatewayError SPOOL_TOO_LARGE (the partial copy is removed), SPOOL_EMPTY
 */
export async function spoolBytes(input: AsyncIterable<Uint8Array>, options: { spoolDir: string; source: string; receiptId: string; maxFileBytes: number }): Promise<SpooledFile> {
  const dir = join(options.spoolDir, options.source);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.incoming-${options.receiptId}`);
  const path = join(dir, `${options.receiptId}.pgp`);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  const handle = await open(temp, 'wx', 0o600);
  try {
    for await (const chunk of input) {
      sizeBytes += chunk.length;
      if (sizeBytes > options.maxFileBytes) throw new GatewayError('SPOOL_TOO_LARGE', { maxFileBytes: options.maxFileBytes });
      hash.update(chunk);
      await handle.write(chunk);
    }
    if (sizeBytes === 0) throw new GatewayError('SPOOL_EMPTY');
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(temp, { force: true });
    throw e;
  }
  await handle.close();
  await rename(temp, path);
  await syncDir(dir);
  return { sha256: hash.digest('hex'), sizeBytes, path };
}

/** Makes a rename durable (POSIX: the directory entry lives in the directory). */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function removeSpooled(path: string): Promise<void> {
  await rm(path, { force: true });
}
