/** Passes `source` through, adding each chunk's length to `progress.plaintextBytes` as it goes. */
export async function* countBytes(source: AsyncIterable<Uint8Array>, progress: { plaintextBytes: number }): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    progress.plaintextBytes += chunk.length;
    yield chunk;
  }
}
