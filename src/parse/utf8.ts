import { GatewayError } from '../errors/gateway-error.js';

/**
 * Decodes a byte stream as strict UTF-8 (invalid sequences are an error, never U+FFFD), keeping a
 * character split across chunks whole, and drops a leading byte-order mark.
 * @param where the 1-based row or line being read, for the error's details
 * @throws GatewayError PARSE_INVALID_UTF8
 */
export async function* decodeUtf8Chunks(chunks: AsyncIterable<Uint8Array>, where: () => number): AsyncGenerator<string> {
  // ignoreBOM: false (the default) makes the decoder drop one leading U+FEFF for us.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const invalid = (cause: unknown) => new GatewayError('PARSE_INVALID_UTF8', { row: where() }, { cause });
  for await (const chunk of chunks) {
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch (cause) {
      throw invalid(cause);
    }
    if (text.length > 0) yield text;
  }
  let tail: string;
  try {
    tail = decoder.decode();
  } catch (cause) {
    throw invalid(cause);
  }
  if (tail.length > 0) yield tail;
}
