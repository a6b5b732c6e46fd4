import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { placementRow, writeCsv } from '../helpers/files.js';
import { expectMatchesOpenApi } from '../helpers/openapi.js';
import { apiKey, useTestApp } from '../helpers/app.js';

// Every upload over 1 byte is "large": answered 202 and processed in the background.
const t = useTestApp((raw) => {
  (raw as Record<string, unknown>).api = { syncMaxBytes: 1 };
});
const auth = { authorization: `Bearer ${apiKey('demo-bank')}` };

describe('large uploads', () => {
  it('are answered 202 with a receipt URL that returns the acknowledgement once processed', async () => {
    const csv = writeCsv(join(t.ws.dir, 'big.csv'), [placementRow('ASYNC-1'), placementRow('ASYNC-2')]);
    await t.gpg.encrypt(csv, join(t.ws.dir, 'big.gpg'), { signer: 'demo-bank@example.invalid' });
    const res = await fetch(`${t.url}/v1/files?kind=placement`, {
      method: 'POST', body: new Blob([new Uint8Array(readFileSync(join(t.ws.dir, 'big.gpg')))]), headers: { ...auth, 'idempotency-key': 'async-key-0001' },
    });
    const pending = (await res.json()) as { receipt_url: string };
    await expectMatchesOpenApi('/v1/files', 'POST', res, pending);
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(pending.receipt_url);
    let ack: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      const poll = await fetch(`${t.url}${pending.receipt_url}`, { headers: auth });
      ack = (await poll.json()) as Record<string, unknown>;
      await expectMatchesOpenApi('/v1/receipts/{id}', 'GET', poll, ack);
      if (poll.status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ack).toMatchObject({ status: 'committed', counts: { accepted: 2 } });
  });
});
