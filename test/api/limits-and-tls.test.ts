import { execFileSync } from 'node:child_process';
import { request } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { apiKey, useTestApp } from '../helpers/app.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { tempDir } from '../helpers/temp-dirs.js';

// A self-signed certificate made with the real openssl, as an operator would for a test deployment.
const certDir = tempDir('vg-tls-');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1',
  '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });

const t = useTestApp((raw) => {
  (raw as Record<string, unknown>).api = { rateLimitPerMinute: 3, tlsCertFile: join(certDir, 'cert.pem'), tlsKeyFile: join(certDir, 'key.pem') };
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.url}${path}`, { headers, ca: execFileSync('cat', [join(certDir, 'cert.pem')]) }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('TLS and per-caller rate limits', () => {
  it('serves HTTPS when a certificate and key are configured', async () => {
    expect(t.url).toMatch(/^https:\/\//);
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers 429 RATE_LIMITED with Retry-After once a caller exceeds its requests per minute, without slowing another caller', async () => {
    const bank = { authorization: `Bearer ${apiKey('demo-bank')}` };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get('/v1/receipts/rcpt_NONE', bank)).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    const limited = await get('/v1/receipts/rcpt_NONE', bank);
    expect(JSON.parse(limited.body)).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await expectMatchesOpenApi('/v1/receipts/{id}', 'GET', new Response(limited.body, { status: 429, headers: { 'content-type': 'application/json' } }), JSON.parse(limited.body));
    expect((await get('/v1/receipts/rcpt_NONE', { authorization: `Bearer ${apiKey('demo-hospital')}` })).status).toBe(404);
  });
});
