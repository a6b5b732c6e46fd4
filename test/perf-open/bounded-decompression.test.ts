import { createWriteStream, readdirSync, readlinkSync, readFileSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKeyRing } from '../../src/keys/keyring.js';
import { BoundedDecompressionStream } from '../../src/open/decompression.js';
import { openPgpFile } from '../../src/open/pgp.js';
import { placementCsv, seededRandom } from '../../src/demo/sample-placements.js';
import { Gpg } from '../helpers/gpg.js';
import { makeWorkspace } from '../helpers/workspace.js';

async function inflateAll(format: CompressionFormat, compressed: Uint8Array, chunkBytes = 8192): Promise<Buffer> {
  const ds = new BoundedDecompressionStream(format);
  const writing = (async () => {
    const writer = ds.writable.getWriter();
    for (let i = 0; i < compressed.length; i += chunkBytes) await writer.write(compressed.subarray(i, i + chunkBytes));
    await writer.close();
  })();
  const reading = (async () => {
    const out: Uint8Array[] = [];
    for await (const chunk of ds.readable as unknown as AsyncIterable<Uint8Array>) out.push(chunk);
    return Buffer.concat(out);
  })();
  const [, inflated] = await Promise.all([writing, reading]);
  return inflated;
}

/** Text that deflate cannot shrink much, so that a few MiB of plaintext make many compressed chunks. */
function noisyText(bytes: number): Buffer {
  const random = seededRandom(7);
  let s = '';
  while (s.length < bytes) s += `${Math.floor(random() * 1e15).toString(36)},`;
  return Buffer.from(s.slice(0, bytes));
}

describe('BoundedDecompressionStream', () => {
  const plain = noisyText(3 * 1024 * 1024);

  it('inflates deflate, deflate-raw and gzip exactly as zlib does', async () => {
    expect((await inflateAll('deflate', deflateSync(plain))).equals(plain)).toBe(true);
    expect((await inflateAll('deflate-raw', deflateRawSync(plain))).equals(plain)).toBe(true);
    expect((await inflateAll('gzip', gzipSync(plain), 1000)).equals(plain)).toBe(true);
  });

  it('fails the stream on corrupt input, and refuses an unknown format with a TypeError as Node does', async () => {
    const corrupt = Buffer.from(deflateSync(plain));
    corrupt.fill(0xff, 100, 200);
    await expect(inflateAll('deflate', corrupt)).rejects.toThrow();
    await expect(inflateAll('deflate', deflateSync(plain).subarray(0, 5000))).rejects.toThrow();
    expect(() => new BoundedDecompressionStream('brotli' as CompressionFormat)).toThrow(TypeError);
  });

  it('takes no more than about 64 KiB of input ahead of a reader that does not read', async () => {
    const compressed = deflateSync(plain);
    const ds = new BoundedDecompressionStream('deflate');
    const writer = ds.writable.getWriter();
    let accepted = 0;
    for (let i = 0; i < compressed.length; i += 8192) {
      const chunk = compressed.subarray(i, i + 8192);
      // Like pipeTo: write only while the stream asks for more.
      const ready = await Promise.race([writer.ready.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 200))]);
      if (!ready) break;
      void writer.write(chunk).catch(() => {});
      accepted += chunk.length;
    }
    // Node 20's own DecompressionStream accepts 16384 chunks here, i.e. all of it.
    expect(compressed.length).toBeGreaterThan(1024 * 1024);
    expect(accepted).toBeLessThan(256 * 1024);
    await ds.readable.cancel();
    await writer.closed.catch(() => {});
  });
});

describe('openPgpFile on a GnuPG (ZLIB-compressed) file', () => {
  const ws = makeWorkspace();
  const file = join(ws.dir, 'placements.csv.gpg');

  beforeAll(async () => {
    const csv = join(ws.dir, 'placements.csv');
    const out = createWriteStream(csv);
    for (const chunk of placementCsv(60_000, { seed: 3, trailer: true })) if (!out.write(chunk)) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
    const gpg = await Gpg.create();
    await gpg.encrypt(csv, file);
  }, 120_000);

  /** Where the process's read position in `path` is (Linux /proc): how far the spool has been read. */
  function readPosition(path: string): number | null {
    for (const fd of readdirSync('/proc/self/fd')) {
      let target: string;
      try {
        target = readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        continue;
      }
      if (target !== path) continue;
      const pos = /^pos:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
      if (pos !== null) return Number(pos[1]);
    }
    return null;
  }

  it('reads the spool no further ahead of the plaintext consumer than a bounded window, not the whole file', async () => {
    const keys = await loadKeyRing(ws.config);
    const encryptedBytes = statSync(file).size;
    expect(encryptedBytes).toBeGreaterThan(3 * 1024 * 1024);
    const opened = await openPgpFile(file, {
      decryptionKeys: keys.pgpPrivateKeys,
      verificationKeys: keys.sourcePgpKeys.get('demo-bank') ?? [],
      requireSignature: true,
      limits: ws.config.limits,
    });
    const reader = opened.plaintext[Symbol.asyncIterator]();
    let plaintextBytes = 0;
    for (let i = 0; i < 20; i++) {
      const step = await reader.next();
      if (step.done === true) break;
      plaintextBytes += step.value.length;
    }
    // A consumer busy elsewhere (a staging transaction): nothing should keep reading the file meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    const position = readPosition(file) ?? encryptedBytes; // no longer open: read to its end and closed
    expect(position).toBeLessThan(2 * 1024 * 1024);
    expect(plaintextBytes).toBeGreaterThan(0);
    const { signerKeyId } = await opened.finish();
    expect(signerKeyId).not.toBeNull();
  });
});
