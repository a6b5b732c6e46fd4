import { createHmac, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactEncrypt, CompactSign, importJWK, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadJoseKeys, openJoseRecords, type JoseKeys } from '../../src/open/jwe.js';
import { keysDir } from '../helpers/gpg.js';

/** Attacks on POST /v1/records' JOSE door, one per case (RFC 8725); each answered with its code, fast. */
const limits = { maxTokenBytes: 64 * 1024, maxInflatedBytes: 256 * 1024, clockSkewSeconds: 120 };
const now = new Date();
const jwk = (file: string) => JSON.parse(readFileSync(join(keysDir, file), 'utf8')) as JWK & { keys?: Array<JWK & { alg: string }> };
const rsaEnc = jwk('gateway.jwks.pub.json').keys!.find((k) => k.alg === 'RSA-OAEP-256')!;
const bankSigning = jwk('demo-bank.jwk.json');
const sentinel = 'SENTINEL-123-45-6789';
const goodPayload = { kind: 'placement', records: [{ account_ref: 'A-1', notes: sentinel }] };
let keys: JoseKeys;

beforeAll(async () => {
  keys = await loadJoseKeys(join(keysDir, 'gateway.jwks.json'), new Map([['demo-bank', [join(keysDir, 'demo-bank.jwk.pub.json')]], ['demo-hospital', [join(keysDir, 'demo-hospital.jwk.pub.json')]]]));
});

const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
async function sign(payload: object, signer: JWK = bankSigning): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256' }).sign(await importJWK(signer, 'ES256'));
}
async function encrypt(plaintext: string | Uint8Array, header: Record<string, unknown> = {}): Promise<string> {
  const bytes = typeof plaintext === 'string' ? new TextEncoder().encode(plaintext) : plaintext;
  return new CompactEncrypt(bytes).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM', ...header }).encrypt(await importJWK(rsaEnc, 'RSA-OAEP-256'));
}
async function expectCode(compact: string, code: string, withinMs = 1000): Promise<void> {
  const started = Date.now();
  const error = await openJoseRecords(compact, 'demo-bank', keys, limits, now).then(() => null, (e: unknown) => e);
  expect(error).toMatchObject({ code });
  expect(Date.now() - started).toBeLessThan(withinMs);
  expect(JSON.stringify({ m: (error as Error).message, d: (error as { details?: unknown }).details })).not.toContain(sentinel);
}

describe('JOSE abuse', () => {
  it('opens a good token (the baseline the attacks are measured against)', async () => {
    const opened = await openJoseRecords(await encrypt(await sign(goodPayload)), 'demo-bank', keys, limits, now);
    expect(opened).toMatchObject({ kind: 'placement', signerKid: 'demo-bank-sig-1' });
  });

  it('refuses a JWS with alg none inside a valid JWE', async () => {
    await expectCode(await encrypt(`${b64({ alg: 'none' })}.${b64(goodPayload)}.`), 'JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses HS256 keyed with the source public key (algorithm confusion)', async () => {
    const pub = readFileSync(join(keysDir, 'demo-bank.jwk.pub.json'));
    const input = `${b64({ alg: 'HS256' })}.${b64(goodPayload)}`;
    await expectCode(await encrypt(`${input}.${createHmac('sha256', pub).update(input).digest('base64url')}`), 'JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses PBES2 with a huge p2c before any key derivation', async () => {
    const forged = `${b64({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM', p2c: 2_000_000_000, p2s: b64('salt') })}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`;
    await expectCode(forged, 'JOSE_ALG_NOT_ALLOWED', 100);
  });

  it('refuses a zip:DEF bomb that inflates past the cap', async () => {
    // jose deflates the plaintext itself when the header says zip: DEF: 10 MiB of zeros becomes ~10 KiB.
    const bomb = await encrypt(new Uint8Array(10 * 1024 * 1024), { zip: 'DEF' });
    expect(bomb.length).toBeLessThan(32 * 1024);
    await expectCode(bomb, 'JOSE_TOO_LARGE');
  });

  it('opens a zip:DEF token within the cap', async () => {
    const opened = await openJoseRecords(await encrypt(await sign(goodPayload), { zip: 'DEF' }), 'demo-bank', keys, limits, now);
    expect(opened.records).toHaveLength(1);
  });

  it('refuses an oversized token before parsing it', async () => {
    await expectCode('a'.repeat(limits.maxTokenBytes + 1), 'JOSE_TOO_LARGE');
  });

  it('refuses an unknown crit extension', async () => {
    // Refused on the header alone, before any key is used (jose itself will not even write such a header).
    await expectCode(`${b64({ alg: 'RSA-OAEP-256', enc: 'A256GCM', crit: ['urn:example:unknown'], 'urn:example:unknown': true })}.${b64('k')}.${b64('iv')}.${b64('ct')}.${b64('tag')}`, 'JOSE_CRIT_UNSUPPORTED');
  });

  it('refuses an expired token', async () => {
    await expectCode(await encrypt(await sign({ ...goodPayload, exp: Math.floor(Date.now() / 1000) - 3600 })), 'JOSE_EXPIRED');
  });

  it("refuses a body signed by another source's key", async () => {
    await expectCode(await encrypt(await sign(goodPayload, jwk('demo-hospital.jwk.json'))), 'JOSE_SIGNATURE_INVALID');
  });

  it('refuses a tampered ciphertext and a token encrypted to another key', async () => {
    const parts = (await encrypt(await sign(goodPayload))).split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    parts[3] = ct.toString('base64url');
    await expectCode(parts.join('.'), 'JOSE_DECRYPT_FAILED');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const toOther = await new CompactEncrypt(new TextEncoder().encode(await sign(goodPayload))).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(other);
    await expectCode(toOther, 'JOSE_DECRYPT_FAILED');
  });

  it('refuses garbage that is not a compact JWE', async () => {
    await expectCode('not.a.jwe', 'JOSE_MALFORMED');
    await expectCode(`${b64('{')}.a.b.c.d`, 'JOSE_MALFORMED');
  });
});
