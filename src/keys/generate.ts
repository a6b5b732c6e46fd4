import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * Generates a fresh key set for a real deployment (`veilgate keys init --out DIR`), or the demo set.
 * OpenPGP keys are v4 (openpgp.js defaults, never v6Keys/aeadProtect) so that GnuPG 2.2 imports them
 * and reads what the gateway encrypts.
 */
export interface GeneratedFile {
  name: string;
  /** 0o600 for private material. */
  mode: number;
}

export async function generatePgpKey(name: string, email: string, type: 'curve25519' | 'rsa'): Promise<{ privateKey: string; publicKey: string }> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    // 'ecc' + curve25519Legacy gives EdDSA/ECDH (algorithms 22/18), which GnuPG 2.2 reads; openpgp's
    // type 'curve25519' would give the RFC 9580 Ed25519/X25519 algorithms that GnuPG 2.2 cannot.
    ...(type === 'rsa' ? { type: 'rsa' as const, rsaBits: 3072 } : { type: 'ecc' as const, curve: 'curve25519Legacy' as const }),
    userIDs: [{ name, email }],
    format: 'armored',
  });
  return { privateKey, publicKey };
}

/** The gateway's JOSE keys: ES256 for signing (checkpoints), RSA-OAEP-256 and ECDH-ES+A256KW for JWE. */
export function generateGatewayJwks(kidPrefix: string): { privateJwks: object; publicJwks: object } {
  const sig = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const encEc = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const encRsa = generateKeyPairSync('rsa', { modulusLength: 3072 });
  const entry = (pair: { privateKey: import('node:crypto').KeyObject; publicKey: import('node:crypto').KeyObject }, kid: string, use: 'sig' | 'enc', alg: string) => ({
    priv: { ...pair.privateKey.export({ format: 'jwk' }), kid, use, alg },
    pub: { ...pair.publicKey.export({ format: 'jwk' }), kid, use, alg },
  });
  const keys = [
    entry(sig, `${kidPrefix}-sig-1`, 'sig', 'ES256'),
    entry(encEc, `${kidPrefix}-enc-ec-1`, 'enc', 'ECDH-ES+A256KW'),
    entry(encRsa, `${kidPrefix}-enc-rsa-1`, 'enc', 'RSA-OAEP-256'),
  ];
  return { privateJwks: { keys: keys.map((k) => k.priv) }, publicJwks: { keys: keys.map((k) => k.pub) } };
}

export function randomKeyBase64(): string {
  return randomBytes(32).toString('base64') + '\n';
}

/** Writes the gateway's own key set into `dir`. Refuses to overwrite an existing key. */
export async function writeGatewayKeys(dir: string, label = 'Veilgate gateway'): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pgp = await generatePgpKey(label, 'gateway@veilgate.invalid', 'curve25519');
  const jwks = generateGatewayJwks('gateway');
  const files: Array<[string, string, number]> = [
    ['gateway.pgp.asc', pgp.privateKey, 0o600],
    ['gateway.pgp.pub.asc', pgp.publicKey, 0o644],
    ['gateway.jwks.json', JSON.stringify(jwks.privateJwks, null, 2) + '\n', 0o600],
    ['gateway.jwks.pub.json', JSON.stringify(jwks.publicJwks, null, 2) + '\n', 0o644],
    ['token-root.v1.key', randomKeyBase64(), 0o600],
    ['vault-root.v1.key', randomKeyBase64(), 0o600],
  ];
  for (const [name] of files) {
    if (existsSync(join(dir, name))) throw new GatewayError('KEY_EXISTS', { file: join(dir, name) });
  }
  for (const [name, content, mode] of files) writeFileSync(join(dir, name), content, { mode });
  return files.map(([name]) => join(dir, name));
}

/** Demo sources and recipients that get API credentials in keys-example/. */
export const demoApiCallers = { sources: ['demo-bank', 'demo-hospital', 'demo-agency'], recipients: ['demo-collector', 'demo-letters'] } as const;

/**
 * The demo callers' API credentials: `<id>.api-key` (a bearer key: 32 random bytes, base64url) for
 * every source and recipient, and for sources `<id>.jwk.json` (private ES256 signing JWK) and
 * `<id>.jwk.pub.json` (its public half, registered in the demo configuration). Existing files are kept.
 */
export function writeApiKeysAndJwks(dir: string): void {
  const write = (name: string, content: string, mode: number) => {
    if (!existsSync(join(dir, name))) writeFileSync(join(dir, name), content, { mode });
  };
  for (const id of [...demoApiCallers.sources, ...demoApiCallers.recipients]) write(`${id}.api-key`, `${randomBytes(32).toString('base64url')}\n`, 0o600);
  for (const id of demoApiCallers.sources) {
    if (existsSync(join(dir, `${id}.jwk.json`))) continue;
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = `${id}-sig-1`;
    write(`${id}.jwk.json`, JSON.stringify({ ...pair.privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' }, null, 2) + '\n', 0o600);
    write(`${id}.jwk.pub.json`, JSON.stringify({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' }, null, 2) + '\n', 0o644);
  }
}
