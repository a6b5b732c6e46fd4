import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactEncrypt, CompactSign, generateKeyPair, importJWK, type JWK } from 'jose';
import nodeJose from 'node-jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { loadJoseKeys, openJoseRecords, type JoseKeys, type JoseLimits } from '../../src/open/jwe.js';

/**
 * src/open/jwe.ts against tokens made by two independent implementations: panva's `jose` and node-jose
 * itself. A round trip through one library only would prove nothing about interoperability.
 */
const keysDir = join(import.meta.dirname, '..', '..', 'keys-example');
const limits: JoseLimits = { maxTokenBytes: 64 * 1024, maxInflatedBytes: 256 * 1024, clockSkewSeconds: 120 };
const now = new Date();
const nowSeconds = Math.floor(now.getTime() / 1000);

type Jwk = JWK & { kid: string; alg: string };
const readJwk = (file: string) => JSON.parse(readFileSync(join(keysDir, file), 'utf8')) as Jwk & { keys?: Jwk[] };
const gatewayPublic = readJwk('gateway.jwks.pub.json').keys!;
const gatewayKey = (alg: string) => gatewayPublic.find((k) => k.alg === alg)!;
const bankSigning = readJwk('demo-bank.jwk.json');
const hospitalSigning = readJwk('demo-hospital.jwk.json');
const agencySigning = readJwk('demo-agency.jwk.json');
const payload = { kind: 'placement', records: [{ account_ref: 'A-1', balance: '10.00' }, { account_ref: 'A-2', balance: '20.50' }], jti: 'batch-1', iat: nowSeconds };

type Library = 'jose' | 'node-jose';
type JweAlg = 'RSA-OAEP-256' | 'ECDH-ES+A256KW';

async function sign(lib: Library, claims: object, jwk: Jwk, alg = jwk.alg, header: Record<string, unknown> = {}): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(claims));
  if (lib === 'jose') return new CompactSign(bytes).setProtectedHeader({ ...header, alg, kid: jwk.kid }).sign(await importJWK(jwk, alg));
  const key = await nodeJose.JWK.asKey(jwk);
  // node-jose's compact Signer resolves to the string; its typings say otherwise.
  return (await nodeJose.JWS.createSign({ format: 'compact', fields: { ...header, alg, kid: jwk.kid } }, key).update(bytes).final()) as unknown as string;
}

async function encrypt(lib: Library, plaintext: string | Uint8Array, alg: JweAlg, options: { zip?: boolean; to?: JWK } = {}): Promise<string> {
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext;
  const to = options.to ?? gatewayKey(alg);
  if (lib === 'jose') {
    return new CompactEncrypt(bytes).setProtectedHeader({ alg, enc: 'A256GCM', ...(options.zip ? { zip: 'DEF' } : {}) }).encrypt(await importJWK(to, alg));
  }
  const key = await nodeJose.JWK.asKey(to);
  return nodeJose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM', fields: { alg }, ...(options.zip ? { zip: true } : {}) }, key).update(Buffer.from(bytes)).final();
}

async function refusal(compact: string, source = 'demo-bank', at = now): Promise<GatewayError> {
  const error = await openJoseRecords(compact, source, keys, limits, at).then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(GatewayError);
  return error as GatewayError;
}

const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** A compact JWS with any header and a signature that cannot verify: enough to reach the header checks. */
const unsignedJws = (header: object, claims: object = payload) => `${b64(header)}.${b64(claims)}.${b64('not a signature')}`;

let keys: JoseKeys;
let tmp: string;
let rsaSigning: Jwk;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'veilgate-jwe-'));
  // An RS256 source: a fresh RSA key, registered through a JWK file like any other.
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsaSigning = { ...rsa.privateKey.export({ format: 'jwk' }), kid: 'test-rsa-sig-1', use: 'sig', alg: 'RS256' };
  const rsaPublic = { ...rsa.publicKey.export({ format: 'jwk' }), kid: rsaSigning.kid, use: 'sig', alg: 'RS256' };
  writeFileSync(join(tmp, 'rsa-source.jwk.pub.json'), JSON.stringify(rsaPublic));
  // A source mid-rotation: one JWKS file with two keys, plus an encryption key that must be ignored.
  const { use: _use, ...agencyPublic } = readJwk('demo-agency.jwk.pub.json');
  const stray = { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), kid: 'stray-enc', use: 'enc' };
  writeFileSync(join(tmp, 'rotating.jwks.json'), JSON.stringify({ keys: [agencyPublic, rsaPublic, stray] }));
  keys = await loadJoseKeys(join(keysDir, 'gateway.jwks.json'), new Map([
    ['demo-bank', [join(keysDir, 'demo-bank.jwk.pub.json')]],
    ['demo-hospital', [join(keysDir, 'demo-hospital.jwk.pub.json')]],
    ['rsa-source', [join(tmp, 'rsa-source.jwk.pub.json')]],
    ['rotating', [join(tmp, 'rotating.jwks.json')]],
    // A private JWK registered by mistake: only its public half may be kept.
    ['private-file', [join(keysDir, 'demo-agency.jwk.json')]],
  ]));
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('openJoseRecords: good tokens from two implementations', () => {
  const matrix: Array<[Library, JweAlg, Library]> = [
    ['jose', 'RSA-OAEP-256', 'node-jose'],
    ['node-jose', 'RSA-OAEP-256', 'jose'],
    ['jose', 'ECDH-ES+A256KW', 'jose'],
    ['node-jose', 'ECDH-ES+A256KW', 'node-jose'],
  ];
  it.each(matrix)('opens a %s %s JWE around a %s ES256 JWS to the records and the signer kid', async (encLib, alg, signLib) => {
    const opened = await openJoseRecords(await encrypt(encLib, await sign(signLib, payload, bankSigning), alg), 'demo-bank', keys, limits, now);
    expect(opened).toEqual({ kind: 'placement', records: payload.records, signerKid: 'demo-bank-sig-1' });
  });

  it.each(['jose', 'node-jose'] as const)('opens an RS256 JWS made by %s with a source key registered from a file', async (lib) => {
    const opened = await openJoseRecords(await encrypt('jose', await sign(lib, { ...payload, kind: 'recall' }, rsaSigning), 'RSA-OAEP-256'), 'rsa-source', keys, limits, now);
    expect(opened).toMatchObject({ kind: 'recall', signerKid: 'test-rsa-sig-1' });
  });

  it.each(['jose', 'node-jose'] as const)('inflates a zip:DEF JWE made by %s within the cap', async (lib) => {
    const many = { kind: 'update', records: Array.from({ length: 500 }, (_, i) => ({ account_ref: `A-${i}`, update_type: 'payment' })) };
    const compact = await encrypt(lib, await sign('jose', many, bankSigning), 'RSA-OAEP-256', { zip: true });
    expect(JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString())).toMatchObject({ zip: 'DEF' });
    const opened = await openJoseRecords(compact, 'demo-bank', keys, limits, now);
    expect(opened.records).toHaveLength(500);
  });

  it('accepts any registered key of a source during a rotation and names the one that signed', async () => {
    const byAgency = await openJoseRecords(await encrypt('jose', await sign('jose', payload, agencySigning), 'ECDH-ES+A256KW'), 'rotating', keys, limits, now);
    const byRsa = await openJoseRecords(await encrypt('jose', await sign('jose', payload, rsaSigning), 'ECDH-ES+A256KW'), 'rotating', keys, limits, now);
    expect([byAgency.signerKid, byRsa.signerKid]).toEqual(['demo-agency-sig-1', 'test-rsa-sig-1']);
  });

  it('allows extra top-level claims (jti, iat, exp, nbf) inside the skew window', async () => {
    const claims = { ...payload, jti: 'x', iat: nowSeconds + 60, nbf: nowSeconds + 60, exp: nowSeconds - 60, iss: 'demo-bank' };
    await expect(openJoseRecords(await encrypt('jose', await sign('jose', claims, bankSigning), 'RSA-OAEP-256'), 'demo-bank', keys, limits, now)).resolves.toMatchObject({ kind: 'placement' });
  });

  it('ignores time claims that are not numbers (RFC 7519 NumericDate only)', async () => {
    const claims = { ...payload, exp: 'yesterday', iat: null };
    await expect(openJoseRecords(await encrypt('jose', await sign('jose', claims, bankSigning), 'RSA-OAEP-256'), 'demo-bank', keys, limits, now)).resolves.toMatchObject({ kind: 'placement' });
  });
});

describe('loadJoseKeys', () => {
  it('keeps only the public half of a source key registered from a private JWK file', () => {
    const [key] = keys.sources.get('private-file')!;
    expect(key!.toJSON(true)).not.toHaveProperty('d');
    expect(key!.kid).toBe('demo-agency-sig-1');
  });

  it('keeps only signing keys for a source and only encryption keys for the gateway', async () => {
    expect(keys.sources.get('rotating')!.map((k) => k.kid)).toEqual(['demo-agency-sig-1', 'test-rsa-sig-1']);
    // The gateway's ES256 signing key is P-256 too, but a JWE to it must not open (RFC 7517 §4.2 `use`).
    const toSigningKey = await encrypt('jose', await sign('jose', payload, bankSigning), 'ECDH-ES+A256KW', { to: gatewayPublic.find((k) => k.use === 'sig')! });
    expect(await refusal(toSigningKey)).toMatchObject({ code: 'JOSE_DECRYPT_FAILED' });
  });

  it('names the config key, not the file content, when a key file cannot be read', async () => {
    const missing = await loadJoseKeys(join(tmp, 'nope.json'), new Map()).then(() => null, (e: unknown) => e);
    expect(missing).toMatchObject({ code: 'KEY_UNAVAILABLE', details: { key: 'keys.jwksFile' } });
    writeFileSync(join(tmp, 'no-kid.jwk.json'), JSON.stringify({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }), use: 'sig' }));
    const noKid = await loadJoseKeys(join(keysDir, 'gateway.jwks.json'), new Map([['s', [join(tmp, 'no-kid.jwk.json')]]])).then(() => null, (e: unknown) => e);
    expect(noKid).toMatchObject({ code: 'KEY_UNAVAILABLE', details: { key: 'sources.s.jwkPublicKeyFiles.0' } });
  });
});

describe('openJoseRecords: refusals', () => {
  it('refuses garbage that is not a compact JWE with JOSE_MALFORMED', async () => {
    for (const garbage of ['', 'not a jwe', 'a.b.c', 'a.b.c.d', 'a.b.c.d.e.f', 'a+b.c.d.e.f', `${b64('{')}.a.b.c.d`, `${b64('[1]')}.a.b.c.d`, `${b64('null')}.a.b.c.d`, '{"protected":"e30"}']) {
      expect(await refusal(garbage)).toMatchObject({ code: 'JOSE_MALFORMED', status: 400 });
    }
  });

  it('refuses a JWE whose plaintext is not a compact JWS with JOSE_MALFORMED', async () => {
    expect(await refusal(await encrypt('jose', JSON.stringify(payload), 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_MALFORMED' });
  });

  it('refuses JWE algorithms outside the allowlist with JOSE_ALG_NOT_ALLOWED', async () => {
    const rsa = gatewayKey('RSA-OAEP-256');
    const ec = gatewayKey('ECDH-ES+A256KW');
    const jws = await sign('jose', payload, bankSigning);
    const real: Array<[string, string, JWK | Uint8Array]> = [
      ['RSA-OAEP', 'A256GCM', rsa], // SHA-1 OAEP
      ['RSA-OAEP-256', 'A128GCM', rsa],
      ['RSA-OAEP-256', 'A256CBC-HS512', rsa],
      ['ECDH-ES', 'A256GCM', ec], // direct key agreement
      ['ECDH-ES+A128KW', 'A256GCM', ec],
      ['dir', 'A256GCM', randomBytes(32)],
      ['A256KW', 'A256GCM', randomBytes(32)],
    ];
    for (const [alg, enc, key] of real) {
      const compact = await new CompactEncrypt(Buffer.from(jws)).setProtectedHeader({ alg, enc }).encrypt(key instanceof Uint8Array ? key : await importJWK(key, alg));
      expect(await refusal(compact), `${alg}/${enc}`).toMatchObject({ code: 'JOSE_ALG_NOT_ALLOWED' });
    }
    for (const header of [{ alg: 'RSA1_5', enc: 'A256GCM' }, { alg: 'none', enc: 'A256GCM' }, { enc: 'A256GCM' }, { alg: 'RSA-OAEP-256' }, { alg: 'RSA-OAEP-256', enc: 'A256GCM', zip: 'GZIP' }]) {
      expect(await refusal(`${b64(header)}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`), JSON.stringify(header)).toMatchObject({ code: 'JOSE_ALG_NOT_ALLOWED' });
    }
  });

  it('refuses JWS algorithms outside the allowlist with JOSE_ALG_NOT_ALLOWED', async () => {
    for (const alg of ['none', 'HS256', 'HS512', 'ES384', 'ES512', 'PS256', 'RS512', 'EdDSA', 'Ed25519', 'ES256K']) {
      expect(await refusal(await encrypt('jose', unsignedJws({ alg }), 'RSA-OAEP-256')), alg).toMatchObject({ code: 'JOSE_ALG_NOT_ALLOWED' });
    }
    expect(await refusal(await encrypt('jose', unsignedJws({ typ: 'JWT' }), 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_ALG_NOT_ALLOWED' });
  });

  it('refuses a JWS that no registered key of the source verifies with JOSE_SIGNATURE_INVALID', async () => {
    const good = await sign('jose', payload, bankSigning);
    const [h, , s] = good.split('.');
    const swapped = `${h}.${b64({ ...payload, kind: 'recall' })}.${s}`;
    expect(await refusal(await encrypt('jose', swapped, 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_SIGNATURE_INVALID', status: 401 });
    expect(await refusal(await encrypt('jose', unsignedJws({ alg: 'ES256' }), 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_SIGNATURE_INVALID' });
    // RS256 header over an EC key, and a valid RS256 signature by a key registered to another source.
    expect(await refusal(await encrypt('jose', await sign('jose', payload, rsaSigning), 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_SIGNATURE_INVALID' });
    // A source with no registered key at all.
    expect(await refusal(await encrypt('jose', good, 'RSA-OAEP-256'), 'unregistered')).toMatchObject({ code: 'JOSE_SIGNATURE_INVALID' });
    expect(await refusal(await encrypt('jose', await sign('node-jose', payload, hospitalSigning), 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_SIGNATURE_INVALID' });
  });

  it('refuses iat in the future, nbf in the future and exp in the past beyond the skew with JOSE_EXPIRED', async () => {
    const skew = limits.clockSkewSeconds;
    for (const claims of [{ iat: nowSeconds + skew + 5 }, { nbf: nowSeconds + skew + 5 }, { exp: nowSeconds - skew - 5 }]) {
      const compact = await encrypt('jose', await sign('jose', { ...payload, ...claims }, bankSigning), 'RSA-OAEP-256');
      expect(await refusal(compact), JSON.stringify(claims)).toMatchObject({ code: 'JOSE_EXPIRED' });
    }
    // The same token opens when the clock is moved back: `now` is a parameter, not Date.now().
    const { iat: _iat, ...withoutIat } = payload;
    const expired = await encrypt('jose', await sign('jose', { ...withoutIat, exp: nowSeconds - 3600 }, bankSigning), 'RSA-OAEP-256');
    expect(await refusal(expired)).toMatchObject({ code: 'JOSE_EXPIRED' });
    await expect(openJoseRecords(expired, 'demo-bank', keys, limits, new Date((nowSeconds - 3600) * 1000))).resolves.toMatchObject({ kind: 'placement' });
  });

  it('refuses a payload that is not {kind, records: [objects]} with JOSE_PAYLOAD_INVALID', async () => {
    const bad: unknown[] = [
      { kind: 'deletion', records: [] },
      { kind: 'placement' },
      { records: [{}] },
      { kind: 'placement', records: {} },
      { kind: 'placement', records: [{}, null] },
      { kind: 'placement', records: [[1]] },
      { kind: 'placement', records: ['A-1'] },
      { kind: ['placement'], records: [] },
      [{ kind: 'placement', records: [] }],
      'placement',
      null,
    ];
    for (const claims of bad) {
      const jws = await new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256' }).sign(await importJWK(bankSigning, 'ES256'));
      expect(await refusal(await encrypt('jose', jws, 'RSA-OAEP-256')), JSON.stringify(claims)).toMatchObject({ code: 'JOSE_PAYLOAD_INVALID' });
    }
    const notJson = await new CompactSign(Buffer.from('{"kind":')).setProtectedHeader({ alg: 'ES256' }).sign(await importJWK(bankSigning, 'ES256'));
    expect(await refusal(await encrypt('jose', notJson, 'RSA-OAEP-256'))).toMatchObject({ code: 'JOSE_PAYLOAD_INVALID' });
  });

  it('refuses a JWE to another key with JOSE_DECRYPT_FAILED and keeps the library error only as the cause', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const compact = await new CompactEncrypt(Buffer.from(await sign('jose', payload, bankSigning))).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(publicKey);
    const error = await refusal(compact);
    expect(error).toMatchObject({ code: 'JOSE_DECRYPT_FAILED', status: 400, details: undefined });
    expect(error.cause).toBeDefined();
    expect(error.message).toBe('The JWE could not be decrypted with the gateway key');
  });
});
