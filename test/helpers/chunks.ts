/** Chunkings of a byte string that catch chunk-boundary bugs in streaming parsers. */
import { seededRandom } from '../../src/demo/sample-placements.js';

export function bytesOf(input: string | Uint8Array | Array<string | number[]>): Uint8Array {
  if (typeof input === 'string') return new TextEncoder().encode(input);
  if (input instanceof Uint8Array) return input;
  return Buffer.concat(input.map((part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part))));
}

/**
 * The ways to cut `bytes` into chunks that chunk-boundary bugs (a CRLF, a "" or a multi-byte character
 * split in two) would notice: whole; in two at every possible offset; one byte at a time; random small sizes.
 */
export function chunkings(bytes: Uint8Array): Array<{ name: string; chunks: Uint8Array[] }> {
  const out = [{ name: 'whole', chunks: [bytes] }];
  for (let cut = 1; cut < bytes.length; cut++) out.push({ name: `cut at ${cut}`, chunks: [bytes.subarray(0, cut), bytes.subarray(cut)] });
  out.push({ name: '1-byte chunks', chunks: Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) });
  for (let seed = 1; seed <= 5; seed++) {
    const random = seededRandom(seed);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; ) {
      const size = 1 + Math.floor(random() * 7);
      chunks.push(bytes.subarray(i, i + size));
      i += size;
    }
    out.push({ name: `random sizes (seed ${seed})`, chunks });
  }
  return out;
}

export async function* streamOf(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}
