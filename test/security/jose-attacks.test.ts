import { createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { CompactEncrypt, CompactSign, generateKeyPair, importJWK, type JWK } from 'jose';
import nodeJose from 'node-jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadJoseKeys, openJoseRecords, type JoseKeys, type JoseLimits } from '../../src/open/jwe.js';

/**
 * Named attacks on the JOSE door of POST /v1/records (RFC 8725 §2 lists most of them), one `it` each.
 * Every one must be answered with its stable code, fast, and without echoing anything from the token:
 * each payload carries a sentinel that must never appear in an error's message or details.
 */
const keysDir = join(import.meta.dirname, '..', '..', 'keys-example');
const limits: JoseLimits = { maxTokenBytes: 64 * 1024, maxInflatedBytes: 256 * 1024, clockSkewSeconds: 120 };
const now = new Date();
const nowSeconds = Math.floor(now.getTime() / 1000);
const sentinel = 'SENTINEL-123-45-6789';
const payload = { kind: 'placement', records: [{ account_ref: 'A-1', national_id: sentinel }] };

type Jwk = JWK & { kid: string; alg: string };
const readJwk = (file: string) => JSON.parse(readFileSync(join(keysDir, file), 'utf8')) as Jwk & { keys?: Jwk[] };
const gatewayKey = (alg: string) => readJwk('gateway.jwks.pub.json').keys!.find((k) => k.alg === alg)!;
const bankSigning = readJwk('demo-bank.jwk.json');
const b64 = (v: object | string | Uint8Array) => Buffer.from(typeof v === 'string' || v instanceof Uint8Array ? v : JSON.stringify(v)).toString('base64url');
const headerOf = (compact: string) => JSON.parse(Buffer.from(compact.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

let keys: JoseKeys;

beforeAll(async () => {
  keys = await loadJoseKeys(join(keysDir, 'gateway.jwks.json'), new Map([
    ['demo-bank', [join(keysDir, 'demo-bank.jwk.pub.json')]],
    ['demo-hospital', [join(keysDir, 'demo-hospital.jwk.pub.json')]],
  ]));
});

async function sign(claims: object, signer: Jwk = bankSigning): Promise<string> {
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', kid: signer.kid }).sign(await importJWK(signer, 'ES256'));
}

async function encrypt(plaintext: string | Uint8Array, header: Record<string, unknown> = {}, alg = 'RSA-OAEP-256'): Promise<string> {
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext;
  return new CompactEncrypt(bytes).setProtectedHeader({ alg, enc: 'A256GCM', ...header }).encrypt(await importJWK(gatewayKey(alg), alg));
}

/** Asserts the stable code, the time budget, and that nothing from the token leaks into the error. */
async function expectRefused(compact: string, code: string, withinMs = 1000, source = 'demo-bank'): Promise<void> {
  const started = performance.now();
  const error = await openJoseRecords(compact, source, keys, limits, now).then(() => null, (e: unknown) => e);
  const elapsedMs = performance.now() - started;
  expect(error).toMatchObject({ code });
  expect(elapsedMs).toBeLessThan(withinMs);
  const { message, details } = error as { message: string; details?: unknown };
  expect(JSON.stringify({ message, details, own: error })).not.toContain(sentinel);
}

describe('JOSE attacks on POST /v1/records', () => {
  it('has a baseline: the same good token opens, so each refusal below is the attack, not the setup', async () => {
    const opened = await openJoseRecords(await encrypt(await sign(payload)), 'demo-bank', keys, limits, now);
    expect(opened).toMatchObject({ kind: 'placement', signerKid: 'demo-bank-sig-1' });
  });

  it('refuses an alg:none JWS inside a valid JWE (RFC 8725 §2.1)', async () => {
    await expectRefused(await encrypt(`${b64({ alg: 'none' })}.${b64(payload)}.`), 'JOSE_ALG_NOT_ALLOWED');
  });

  it('refuses HS256 keyed with the source public key bytes (algorithm confusion, RFC 8725 §2.1)', async () => {
    const publicJwk = readJwk('demo-bank.jwk.pub.json');
    const secrets = [
      readFileSync(join(keysDir, 'demo-bank.jwk.pub.json')),
      Buffer.from(JSON.stringify(publicJwk)),
      Buffer.from(createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' })),
      createPublicKey({ key: publicJwk, format: 'jwk' }).export({ type: 'spki', format: 'der' }),
    ];
    for (const secret of secrets) {
      const input = `${b64({ alg: 'HS256', kid: publicJwk.kid })}.${b64(payload)}`;
      await expectRefused(await encrypt(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`), 'JOSE_ALG_NOT_ALLOWED');
    }
  });

  it('refuses PBES2-HS512+A256KW with a huge p2c before any key derivation (RFC 8725 §3.1)', async () => {
    // A real PBES2 token (small p2c), then the header rewritten to ask for 2^31-1 PBKDF2 iterations:
    // a library that derives before checking the header would spend minutes here.
    const real = await new CompactEncrypt(Buffer.from(await sign(payload))).setProtectedHeader({ alg: 'PBES2-HS512+A256KW', enc: 'A256GCM' })
      .setKeyManagementParameters({ p2c: 1000, p2s: Buffer.from('saltsaltsaltsalt') }).encrypt(Buffer.from('the password'));
    const forged = [b64({ ...headerOf(real), p2c: 2 ** 31 - 1 }), ...real.split('.').slice(1)].join('.');
    await expectRefused(forged, 'JOSE_ALG_NOT_ALLOWED', 100);
  });

  it('refuses a zip:DEF bomb (10 MB of zeros in a tiny JWE) at the inflate cap, quickly', async () => {
    // jose deflates the plaintext itself when the header says zip: DEF.
    const bomb = await encrypt(new Uint8Array(10 * 1024 * 1024), { zip: 'DEF' });
    expect(bomb.length).toBeLessThan(limits.maxTokenBytes);
    await expectRefused(bomb, 'JOSE_TOO_LARGE');
  });

  describe('with node-jose\'s own inflate watched', () => {
    // node-jose inflates zip:DEF with pako.inflateRaw and no bound. It must never be the one to do it.
    const pako = createRequire(createRequire(import.meta.url).resolve('node-jose'))('pako') as { inflateRaw: (data: Uint8Array) => Uint8Array };
    afterEach(() => vi.restoreAllMocks());

    it('never lets node-jose inflate a zip:DEF plaintext without a bound', async () => {
      const inflate = vi.spyOn(pako, 'inflateRaw');
      const small = await encrypt(await sign(payload), { zip: 'DEF' });
      // Control: the spy sees node-jose's inflate when node-jose is used directly...
      await nodeJose.JWE.createDecrypt(keys.gateway).decrypt(small);
      expect(inflate).toHaveBeenCalledTimes(1);
      inflate.mockClear();
      // ...and through the gateway it is never called, for a good token or a bomb.
      await expect(openJoseRecords(small, 'demo-bank', keys, limits, now)).resolves.toMatchObject({ kind: 'placement' });
      await expectRefused(await encrypt(new Uint8Array(10 * 1024 * 1024), { zip: 'DEF' }), 'JOSE_TOO_LARGE');
      expect(inflate).not.toHaveBeenCalled();
    });
  });

  it('refuses an oversized token before parsing it', async () => {
    const big = await encrypt(await sign({ ...payload, records: Array.from({ length: 2000 }, () => payload.records[0]) }));
    expect(big.length).toBeGreaterThan(limits.maxTokenBytes);
    await expectRefused(big, 'JOSE_TOO_LARGE');
    await expectRefused('.'.repeat(limits.maxTokenBytes + 1), 'JOSE_TOO_LARGE');
  });

  it('refuses an unknown crit extension in the JWE header, even on a token that would otherwise open (RFC 7516 §4.1.13)', async () => {
    // jose refuses to write an unknown crit, so node-jose makes the token: a real, decryptable JWE.
    const key = await nodeJose.JWK.asKey(gatewayKey('RSA-OAEP-256'));
    const compact = await nodeJose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM', fields: { alg: 'RSA-OAEP-256', crit: ['urn:example:unknown'], 'urn:example:unknown': true } }, key)
      .update(Buffer.from(await sign(payload))).final();
    expect(headerOf(compact)).toMatchObject({ crit: ['urn:example:unknown'] });
    await expectRefused(compact, 'JOSE_CRIT_UNSUPPORTED');
  });

  it('refuses an unknown crit extension in the inner JWS header (RFC 7515 §4.1.11)', async () => {
    const key = await nodeJose.JWK.asKey(bankSigning);
    const jws = (await nodeJose.JWS.createSign({ format: 'compact', fields: { alg: 'ES256', crit: ['exp'], exp: nowSeconds + 60 } }, key)
      .update(Buffer.from(JSON.stringify(payload))).final()) as unknown as string;
    await expectRefused(await encrypt(jws), 'JOSE_CRIT_UNSUPPORTED');
  });

  it('refuses an expired token (exp one hour ago)', async () => {
    await expectRefused(await encrypt(await sign({ ...payload, exp: nowSeconds - 3600 })), 'JOSE_EXPIRED');
  });

  it("refuses a body signed by demo-hospital's registered key presented as demo-bank", async () => {
    const byHospital = await encrypt(await sign(payload, readJwk('demo-hospital.jwk.json')));
    await expect(openJoseRecords(byHospital, 'demo-hospital', keys, limits, now)).resolves.toMatchObject({ signerKid: 'demo-hospital-sig-1' });
    await expectRefused(byHospital, 'JOSE_SIGNATURE_INVALID');
  });

  it('refuses a JWS that brings its own key in a jwk header (RFC 7515 §4.1.3, RFC 8725 §3.10)', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256', kid: bankSigning.kid, jwk: publicKey.export({ format: 'jwk' }) }).sign(privateKey);
    await expectRefused(await encrypt(jws), 'JOSE_SIGNATURE_INVALID');
  });

  it('refuses a tampered ciphertext', async () => {
    const parts = (await encrypt(await sign(payload))).split('.');
    const ct = Buffer.from(parts[3]!, 'base64url');
    ct[0]! ^= 1;
    parts[3] = ct.toString('base64url');
    await expectRefused(parts.join('.'), 'JOSE_DECRYPT_FAILED');
  });

  it('refuses a tampered authentication tag or protected header', async () => {
    const parts = (await encrypt(await sign(payload))).split('.');
    const tag = Buffer.from(parts[4]!, 'base64url');
    tag[tag.length - 1]! ^= 1;
    await expectRefused([...parts.slice(0, 4), tag.toString('base64url')].join('.'), 'JOSE_DECRYPT_FAILED');
    // The header is the AAD (RFC 7516 §5.2): adding zip to it must break the tag, not change the parsing.
    await expectRefused([b64({ ...headerOf(parts.join('.')), zip: 'DEF' }), ...parts.slice(1)].join('.'), 'JOSE_DECRYPT_FAILED');
  });

  it('refuses a token encrypted to a different, freshly generated key', async () => {
    const jws = Buffer.from(await sign(payload));
    const rsa = await generateKeyPair('RSA-OAEP-256');
    const ec = await generateKeyPair('ECDH-ES+A256KW');
    await expectRefused(await new CompactEncrypt(jws).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(rsa.publicKey), 'JOSE_DECRYPT_FAILED');
    await expectRefused(await new CompactEncrypt(jws).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }).encrypt(ec.publicKey), 'JOSE_DECRYPT_FAILED');
  });

  it('refuses an ECDH-ES ephemeral key that is not on P-256 (invalid-curve attack, RFC 7518 §4.6)', async () => {
    const real = await encrypt(await sign(payload), {}, 'ECDH-ES+A256KW');
    const header = headerOf(real) as { epk: Record<string, string> };
    // A point off the curve, if multiplied by the gateway key, leaks bits of it. The epk sits in the protected
    // header, so the tag would fail too; node-jose rejects the point first (lib/algorithms/ecdh.js validatePublic).
    const offCurve = { ...header.epk, x: b64(Buffer.alloc(32, 1)), y: b64(Buffer.alloc(32, 2)) };
    await expectRefused([b64({ ...header, epk: offCurve }), ...real.split('.').slice(1)].join('.'), 'JOSE_DECRYPT_FAILED');
  });

  it('refuses RSA1_5 (Bleichenbacher) and dir before any key is used (RFC 7518 §4.2, RFC 8725 §3.2)', async () => {
    for (const alg of ['RSA1_5', 'dir']) {
      await expectRefused(`${b64({ alg, enc: 'A256GCM' })}.${b64('k')}.${b64('iv')}.${b64(sentinel)}.${b64('tag')}`, 'JOSE_ALG_NOT_ALLOWED', 100);
    }
  });
});
