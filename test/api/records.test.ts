import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompactEncrypt, CompactSign, importJWK, type JWK } from 'jose';
import nodeJose from 'node-jose';
import { describe, expect, it } from 'vitest';
import { keysDir } from '../helpers/gpg.js';
import { placementRow } from '../helpers/files.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { findLeaks, seeded } from '../helpers/pii.js';
import { apiKey, useTestApp } from '../helpers/app.js';

const t = useTestApp();
const jwk = (file: string) => JSON.parse(readFileSync(join(keysDir, file), 'utf8')) as JWK & { keys?: Array<JWK & { alg: string }> };
const gatewayPublic = jwk('gateway.jwks.pub.json').keys!;

/** A creditor's client, built with panva/jose (an independent implementation): JWS by the source inside a JWE to the gateway. */
async function token(payload: object, options: { signer?: string; alg?: 'RSA-OAEP-256' | 'ECDH-ES+A256KW' } = {}): Promise<string> {
  const signing = jwk(`${options.signer ?? 'demo-bank'}.jwk.json`);
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'ES256', kid: signing.kid! })
    .sign(await importJWK(signing, 'ES256'));
  const alg = options.alg ?? 'RSA-OAEP-256';
  const encryptionKey = gatewayPublic.find((k) => k.alg === alg)!;
  return new CompactEncrypt(new TextEncoder().encode(jws))
    .setProtectedHeader({ alg, enc: 'A256GCM', kid: encryptionKey.kid!, cty: 'JWT' })
    .encrypt(await importJWK(encryptionKey, alg));
}

async function send(body: string, key: string, bearer = apiKey('demo-bank')) {
  const res = await fetch(`${t.url}/v1/records`, { method: 'POST', body, headers: { authorization: `Bearer ${bearer}`, 'idempotency-key': key, 'content-type': 'application/jose' } });
  const json = (await res.json()) as Record<string, unknown>;
  await expectMatchesOpenApi('/v1/records', 'POST', res, json);
  return { res, json };
}

describe('POST /v1/records', () => {
  it.each(['RSA-OAEP-256', 'ECDH-ES+A256KW'] as const)('takes a %s JWE whose JWS is by the source, and answers with the acknowledgement', async (alg) => {
    const id = alg.replace(/[^A-Za-z0-9]/g, '-');
    const payload = { kind: 'placement', records: [placementRow(`JOSE-${id}-1`), placementRow(`JOSE-${id}-2`, { phone: 'not-a-phone' })] };
    const { res, json } = await send(await token(payload, { alg }), `jose-${id}-0001`);
    expect(res.status).toBe(200);
    expect(json).toMatchObject({ status: 'committed', kind: 'placement', counts: { records: 2, accepted: 1, rejected: 1 } });
    expect(json.errors).toEqual([expect.objectContaining({ record: 2, field: 'phone', code: 'PHONE_INVALID' })]);
  });

  it("refuses a batch signed by another source's key, storing nothing", async () => {
    const before = await t.deps.store.fileCounts();
    const { res, json } = await send(await token({ kind: 'placement', records: [placementRow('JOSE-X')] }, { signer: 'demo-hospital' }), 'jose-forged-0001');
    expect(res.status).toBe(401);
    expect(json).toMatchObject({ code: 'JOSE_SIGNATURE_INVALID' });
    expect(await t.deps.store.fileCounts()).toEqual(before);
  });

  it('refuses a payload whose kind is not placement, recall or update', async () => {
    const { json } = await send(await token({ kind: 'bogus', records: [] }), 'jose-kind-00001');
    expect(json).toMatchObject({ code: 'JOSE_PAYLOAD_INVALID' });
  });

  it('replays the first answer for the same Idempotency-Key and body, and answers 409 for another body', async () => {
    const body = await token({ kind: 'placement', records: [placementRow('JOSE-IDEM')] });
    const first = await send(body, 'jose-idem-00001');
    expect((await send(body, 'jose-idem-00001')).json).toEqual(first.json);
    const other = await send(await token({ kind: 'placement', records: [placementRow('JOSE-IDEM-2')] }), 'jose-idem-00001');
    expect(other.res.status).toBe(409);
  });

  it('never puts a seeded personal value into a response or a log line', async () => {
    const { json } = await send(await token({ kind: 'placement', records: [placementRow('JOSE-PII', { ...seeded, national_id_type: 'us_ssn' }), placementRow('JOSE-PII-2', { ...seeded, email: 'x' })] }), 'jose-pii-000001');
    expect(json).toMatchObject({ status: 'committed' });
    expect(findLeaks(JSON.stringify(json))).toEqual([]);
    expect(findLeaks(t.logs.text)).toEqual([]);
  });
});

describe('node-jose clients', () => {
  it('can send a record batch made with node-jose (ECDH-ES+A256KW, ES256)', async () => {
    const signing = await nodeJose.JWK.asKey(JSON.parse(readFileSync(join(keysDir, 'demo-bank.jwk.json'), 'utf8')) as object);
    const jws = await nodeJose.JWS.createSign({ format: 'compact', fields: { alg: 'ES256' } }, signing).update(JSON.stringify({ kind: 'placement', records: [placementRow('NJ-1')] })).final() as unknown as string; // compact format: a string
    const gateway = await nodeJose.JWK.asKey((JSON.parse(readFileSync(join(keysDir, 'gateway.jwks.pub.json'), 'utf8')) as { keys: Array<{ alg: string }> }).keys.find((k) => k.alg === 'ECDH-ES+A256KW')!);
    const jwe = await nodeJose.JWE.createEncrypt({ format: 'compact', contentAlg: 'A256GCM', fields: { alg: 'ECDH-ES+A256KW' } }, gateway).update(jws).final();
    const res = await fetch(`${t.url}/v1/records`, { method: 'POST', body: jwe, headers: { authorization: `Bearer ${apiKey('demo-bank')}`, 'idempotency-key': 'node-jose-0001', 'content-type': 'application/jose' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'committed', counts: { accepted: 1 } });
  });
});
