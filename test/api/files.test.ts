import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { placementRow, writeCsv } from '../helpers/files.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { findLeaks, seeded } from '../helpers/pii.js';
import { apiKey, useTestApp } from '../helpers/app.js';

// A 1 MiB upload limit, so that the size test stays small; the same check guards the 1 GiB default.
const t = useTestApp((raw) => {
  (raw as Record<string, unknown>).api = { maxUploadBytes: 1024 * 1024 };
  // demo-agency may send placements only.
  raw.sources['demo-agency']!.allowedKinds = ['placement'];
});
const bank = apiKey('demo-bank');

async function gpgFile(name: string, rows: Array<Record<string, string>>, signer = 'demo-bank@example.invalid'): Promise<Buffer> {
  const csv = writeCsv(join(t.ws.dir, `${name}.csv`), rows);
  const out = join(t.ws.dir, `${name}.gpg`);
  await t.gpg.encrypt(csv, out, { signer });
  return readFileSync(out);
}

async function upload(body: Uint8Array | string, options: { key?: string; kind?: string; auth?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...options.headers };
  if (options.auth !== null) headers.authorization = `Bearer ${options.auth ?? bank}`;
  if (options.key !== undefined) headers['idempotency-key'] = options.key;
  const res = await fetch(`${t.url}/v1/files?kind=${options.kind ?? 'placement'}`, { method: 'POST', headers, body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]) });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json') === true ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  await expectMatchesOpenApi('/v1/files', 'POST', res, json);
  return { res, json: json ?? {} };
}

describe('POST /v1/files', () => {
  it('takes a gpg-made file and answers with its acknowledgement', async () => {
    const body = await gpgFile('api-1', [placementRow('API-1'), placementRow('API-2', { national_id: 'bad', national_id_type: 'us_ssn' })]);
    const { res, json } = await upload(body, { key: 'key-api-0001', headers: { 'x-veilgate-file-name': 'demo-bank_placement_20261128_001.csv.gpg' } });
    expect(res.status).toBe(200);
    expect(json).toMatchObject({ status: 'committed', source: 'demo-bank', file_name: 'demo-bank_placement_20261128_001.csv.gpg', counts: { records: 2, accepted: 1, rejected: 1 } });
  });

  it('replays the first answer for the same Idempotency-Key and body, committing nothing new', async () => {
    const body = await gpgFile('api-idem', [placementRow('IDEM-1')]);
    const first = await upload(body, { key: 'key-idem-0001' });
    const again = await upload(body, { key: 'key-idem-0001' });
    expect(again.res.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect((await t.deps.store.fileCounts()).reduce((n, r) => n + (r.state === 'duplicate' ? r.count : 0), 0)).toBe(0);
  });

  it('answers 409 IDEMPOTENCY_CONFLICT for the same key with a different body', async () => {
    await upload(await gpgFile('api-c1', [placementRow('CONF-1')]), { key: 'key-conflict-01' });
    const { res, json } = await upload(await gpgFile('api-c2', [placementRow('CONF-2')]), { key: 'key-conflict-01' });
    expect(res.status).toBe(409);
    expect(json).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT' });
  });

  it('answers duplicate for the same bytes under a new key', async () => {
    const body = await gpgFile('api-dup', [placementRow('DUP-API-1')]);
    await upload(body, { key: 'key-dup-00001' });
    const { res, json } = await upload(body, { key: 'key-dup-00002' });
    expect(res.status).toBe(200);
    expect(json).toMatchObject({ status: 'duplicate' });
  });

  it('answers 422 with the acknowledgement when the file is rejected whole', async () => {
    const { res, json } = await upload(await gpgFile('api-forged', [placementRow('F-1')], 'demo-hospital@example.invalid'), { key: 'key-forged-01' });
    expect(res.status).toBe(422);
    expect(json).toMatchObject({ status: 'rejected', file_error: { code: 'OPEN_SIGNATURE_INVALID' } });
  });

  it('refuses a missing or wrong bearer key (401), a recipient key (403) and a missing Idempotency-Key (400), storing nothing', async () => {
    const before = await t.deps.store.fileCounts();
    expect((await upload('x', { key: 'key-auth-0001', auth: null })).json).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect((await upload('x', { key: 'key-auth-0001', auth: 'wrong-key-wrong-key-wrong' })).res.status).toBe(401);
    expect((await upload('x', { key: 'key-auth-0001', auth: apiKey('demo-collector') })).json).toMatchObject({ code: 'AUTH_FORBIDDEN' });
    expect((await upload('x')).json).toMatchObject({ code: 'IDEMPOTENCY_KEY_REQUIRED' });
    expect(await t.deps.store.fileCounts()).toEqual(before);
  });

  it('answers 403 KIND_NOT_ALLOWED when a source sends a kind its configuration does not allow, storing nothing', async () => {
    const before = await t.deps.store.fileCounts();
    const { res, json } = await upload('x', { key: 'key-kind-00001', kind: 'recall', auth: apiKey('demo-agency') });
    expect(res.status).toBe(403);
    expect(json).toMatchObject({ code: 'KIND_NOT_ALLOWED' });
    expect(await t.deps.store.fileCounts()).toEqual(before);
  });

  it('answers 413 REQUEST_TOO_LARGE for a declared length over the limit, before reading the body', async () => {
    const { res, json } = await upload(new Uint8Array(2 * 1024 * 1024), { key: 'key-large-0001' });
    expect(res.status).toBe(413);
    expect(json).toMatchObject({ code: 'REQUEST_TOO_LARGE' });
  });

  it('answers 413 for a streamed body without a length once it passes the limit, keeping no partial file', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 24; i++) controller.enqueue(new Uint8Array(128 * 1024));
        controller.close();
      },
    });
    const res = await fetch(`${t.url}/v1/files?kind=placement`, {
      method: 'POST', body: chunks, duplex: 'half',
      headers: { authorization: `Bearer ${bank}`, 'idempotency-key': 'key-large-0002', 'content-type': 'application/octet-stream' },
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'REQUEST_TOO_LARGE' });
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(join(t.ws.dataDir, 'spool', 'demo-bank')).filter((f) => f.startsWith('.incoming'))).toEqual([]);
  });

  it('never puts a seeded personal value into a response or a log line', async () => {
    const body = await gpgFile('api-pii', [placementRow('PII-API', { ...seeded, national_id_type: 'us_ssn', debt_type: 'medical' }), placementRow('PII-API-2', { ...seeded, national_id_type: 'us_ssn', balance: 'x' })]);
    const { json } = await upload(body, { key: 'key-pii-00001' });
    expect(findLeaks(JSON.stringify(json))).toEqual([]);
    expect(findLeaks(t.logs.text)).toEqual([]);
  });
});

describe('public routes and probes', () => {
  it('publish the gateway public keys (no private members) and the API description', async () => {
    const jwks = await fetch(`${t.url}/.well-known/jwks.json`);
    const body = (await jwks.json()) as { keys: Array<Record<string, unknown>> };
    await expectMatchesOpenApi('/.well-known/jwks.json', 'GET', jwks, body);
    expect(body.keys.map((k) => k.alg).sort()).toEqual(['ECDH-ES+A256KW', 'ES256', 'RSA-OAEP-256']);
    for (const k of body.keys) expect(k).not.toHaveProperty('d');
    const pgp = await fetch(`${t.url}/v1/keys/pgp`);
    expect(await pgp.text()).toContain('-----BEGIN PGP PUBLIC KEY BLOCK-----');
    const openapi = await fetch(`${t.url}/v1/openapi.json`);
    expect(((await openapi.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('answer health, readiness and metrics, the metrics holding counts and no value', async () => {
    for (const [path, status] of [['/healthz', 200], ['/readyz', 200]] as const) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status).toBe(status);
      await expectMatchesOpenApi(path, 'GET', res, await res.json());
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/veilgate_files\{source="demo-bank",state="committed"\} \d+/);
    expect(metrics).toMatch(/veilgate_records_total\{source="demo-bank",kind="placement",outcome="accepted"\} \d+/);
    expect(metrics).toContain('veilgate_http_request_duration_seconds_bucket{method="POST",route="/v1/files"');
    expect(findLeaks(metrics)).toEqual([]);
  });

  it('report the longest event loop stall since the last scrape, then start again', async () => {
    await fetch(`${t.url}/metrics`);
    const stallUntil = Date.now() + 300;
    while (Date.now() < stallUntil) { /* a synchronous step, as a large SQLite statement would be */ }
    const loopMax = async () => Number(/^veilgate_event_loop_delay_max_seconds (\S+)$/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1]);
    expect(await loopMax()).toBeGreaterThanOrEqual(0.25);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await loopMax()).toBeLessThan(0.25);
  });

  it('answers 404 NOT_FOUND for an unknown route and for another source receipt', async () => {
    const res = await fetch(`${t.url}/v1/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
    const receipt = await fetch(`${t.url}/v1/receipts/rcpt_UNKNOWN`, { headers: { authorization: `Bearer ${apiKey('demo-hospital')}` } });
    expect(receipt.status).toBe(404);
  });
});
