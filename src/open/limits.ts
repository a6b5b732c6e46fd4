import * as openpgp from 'openpgp';
import type { Limits } from '../config/types.js';

/**
 * Every dangerous openpgp.js default, set explicitly (STYLE habit 5).
 *
 * - maxDecompressedMessageSize: the library default is Infinity; a 1 KiB zlib bomb would fill memory.
 * - allowUnauthenticatedStream: GnuPG 2.2 writes SEIPDv1 whose MDC sits at the very end; without this,
 *   openpgp.js buffers the whole plaintext before releasing a byte (2.1 GiB RSS for 630 MB, STACK-NOTES §2).
 *   We stream into staging only, and nothing derived from the plaintext is visible or acknowledged until
 *   the integrity and signature checks at the end of the stream pass (STYLE habit 6).
 * - allowUnauthenticatedMessages: never decrypt SED packets (no integrity protection at all).
 * - enableParsingV5Entities: GnuPG 2.4 writes OCB-encrypted (AEAD, tag 20) packets to keys that advertise it.
 */
export function pgpDecryptConfig(limits: Limits): openpgp.PartialConfig {
  return {
    maxDecompressedMessageSize: limits.maxDecompressedBytes,
    allowUnauthenticatedStream: true,
    allowUnauthenticatedMessages: false,
    enableParsingV5Entities: true,
  };
}

/**
 * What the gateway writes must be readable by GnuPG 2.2: v4 keys and SEIPDv1 (never aeadProtect or
 * v6Keys). openpgp.js follows the recipient key's feature flags, so to a GnuPG 2.2 key it writes SEIPDv1.
 */
export const pgpEncryptConfig: openpgp.PartialConfig = {
  aeadProtect: false,
  v6Keys: false,
};
