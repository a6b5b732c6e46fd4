import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import type { Config } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';

/** A symmetric root key with the version that is written into everything it makes. */
export interface VersionedKey {
  readonly version: number;
  readonly key: Buffer;
}

/** Every key the gateway holds, loaded once at start. */
export interface KeyRing {
  /** The gateway's OpenPGP private keys; the first signs what the gateway sends. */
  readonly pgpPrivateKeys: readonly openpgp.PrivateKey[];
  /** Each source's registered OpenPGP public keys. */
  readonly sourcePgpKeys: ReadonlyMap<string, readonly openpgp.PublicKey[]>;
  /** Token root keys by version; `currentToken` makes new tokens. */
  readonly tokenKeys: ReadonlyMap<number, Buffer>;
  readonly currentToken: VersionedKey;
  /** Vault key-encryption keys by version; `currentVault` wraps new subject data keys. */
  readonly vaultKeys: ReadonlyMap<number, Buffer>;
  readonly currentVault: VersionedKey;
}

export async function loadKeyRing(config: Config): Promise<KeyRing> {
  const passphrase = config.keys.pgpPassphraseFile === null ? undefined : readKeyFile(config.keys.pgpPassphraseFile, 'keys.pgpPassphraseFile').trim();
  const pgpPrivateKeys = await Promise.all(
    config.keys.pgpPrivateKeyFiles.map(async (file, i) => {
      const where = `keys.pgpPrivateKeyFiles.${i}`;
      try {
        const key = await openpgp.readPrivateKey({ armoredKey: readKeyFile(file, where) });
        return key.isDecrypted() ? key : await openpgp.decryptKey({ privateKey: key, passphrase: passphrase ?? '' });
      } catch (cause) {
        throw new GatewayError('KEY_UNAVAILABLE', { key: where }, { cause });
      }
    }),
  );
  const sourcePgpKeys = new Map<string, openpgp.PublicKey[]>();
  for (const [id, source] of Object.entries(config.sources)) {
    sourcePgpKeys.set(id, await Promise.all(source.pgpPublicKeyFiles.map((file, i) => readPublicKey(file, `sources.${id}.pgpPublicKeyFiles.${i}`))));
  }
  const tokenKeys = loadSymmetric(config.keys.tokenKeys, 'keys.tokenKeys');
  const vaultKeys = loadSymmetric(config.keys.vaultKeys, 'keys.vaultKeys');
  return { pgpPrivateKeys, sourcePgpKeys, tokenKeys, currentToken: newest(tokenKeys), vaultKeys, currentVault: newest(vaultKeys) };
}

export async function readPublicKey(file: string, where: string): Promise<openpgp.PublicKey> {
  try {
    return await openpgp.readKey({ armoredKey: readKeyFile(file, where) });
  } catch (cause) {
    throw new GatewayError('KEY_UNAVAILABLE', { key: where }, { cause });
  }
}

function readKeyFile(file: string, where: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GatewayError('KEY_UNAVAILABLE', { key: where }, { cause });
  }
}

function loadSymmetric(list: Config['keys']['tokenKeys'], where: string): Map<number, Buffer> {
  const keys = new Map<number, Buffer>();
  list.forEach(({ version, file }, i) => {
    const key = Buffer.from(readKeyFile(file, `${where}.${i}`).trim(), 'base64');
    // 256-bit keys: HMAC-SHA-256 and AES-256 both want 32 bytes.
    if (key.length !== 32) throw new GatewayError('KEY_UNAVAILABLE', { key: `${where}.${i}`, reason: 'must be 32 bytes, base64' });
    keys.set(version, key);
  });
  return keys;
}

function newest(keys: Map<number, Buffer>): VersionedKey {
  const version = Math.max(...keys.keys());
  return { version, key: keys.get(version)! };
}
