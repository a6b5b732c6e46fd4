import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compactVerify, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../src/audit/export.js';
import type { Deps } from '../../src/deps.js';
import { runVeilgate } from '../helpers/cli.js';
import { keysDir } from '../helpers/gpg.js';
import type { Workspace } from '../helpers/workspace.js';
import { auditExport, ownHash, parse, publicJwks, tampering } from './tampering.js';

let ws: Workspace;
let deps: Deps;
let lines: string[] = [];
let checkpoint20 = '';
let checkpoint50 = '';
let base = 0;
const at = (n: number) => base + n;

beforeAll(async () => {
  ({ ws, deps, lines, base, checkpoint20, checkpoint50 } = await auditExport());
});
afterAll(async () => {
  await deps?.store.close();
  if (ws !== undefined) rmSync(ws.dir, { recursive: true, force: true });
});

async function* asLines(list: readonly string[]): AsyncGenerator<string> {
  yield* list;
}

const { header, checkpoints, entries, withEntries, edit, rehash } = tampering(() => lines);

describe('an audit export verified offline', () => {
  it('verifies with an independent verifier: jose for the checkpoint JWS, a few lines of our own for the chain', async () => {
    const key = await importJWK(publicJwks.keys.find((k) => k.use === 'sig')!, 'ES256');
    const signed = new Map<number, string>();
    for (const line of checkpoints()) {
      const { payload, protectedHeader } = await compactVerify(String(parse(line).jws), key, { algorithms: ['ES256'] });
      expect(protectedHeader.kid).toBe('gateway-sig-1');
      const claims = JSON.parse(new TextDecoder().decode(payload)) as { seq: number; hash: string };
      signed.set(claims.seq, claims.hash);
    }
    expect([...signed.keys()]).toEqual([at(20), at(50)]);
    let prev = '0'.repeat(64);
    for (const line of entries()) {
      const e = parse(line);
      expect(e.prev_hash).toBe(prev);
      expect(ownHash(e)).toBe(e.hash);
      if (signed.has(e.seq as number)) expect(e.hash).toBe(signed.get(e.seq as number));
      prev = e.hash as string;
    }
    expect(entries()).toHaveLength(at(50));
  });

  it('passes our verifier, with and without the checkpoints the officer kept', async () => {
    expect(await verifyExport(asLines(lines), publicJwks)).toMatchObject({ ok: true, entries: at(50), checkpoints: 2, anchored: true });
    expect(await verifyExport(asLines(lines), publicJwks, [checkpoint20, checkpoint50])).toMatchObject({ ok: true });
  });

  it.each([
    ['an edited entry', () => withEntries(edit(at(7), (e) => ((e.details as { purpose: string }).purpose = 'skip-tracing'))), 7],
    ['a deleted entry', () => withEntries(entries().filter((l) => parse(l).seq !== at(7))), 7],
    ['two entries swapped', () => {
      const list = entries();
      [list[at(6)], list[at(7)]] = [list[at(7)]!, list[at(6)]!];
      return withEntries(list);
    }, 7],
    ['an inserted entry', () => {
      const list = entries();
      const forged = { ...parse(list[at(5)]!), target: 'v1.forged' };
      // The forgery copies entry 6's numbering and sits where entry 7 belongs.
      list.splice(at(6), 0, JSON.stringify(forged));
      return withEntries(list);
    }, 7],
    ['a truncated tail (entries dropped, header kept)', () => withEntries(entries().slice(0, at(40))), 41],
    ['a truncated tail with the header edited to match', () => withEntries(entries().slice(0, at(40)), JSON.stringify({ ...parse(header()), to: at(40) })), 41],
    ['a rewritten history with every hash recomputed', () => withEntries(rehash(edit(at(7), (e) => (e.target = 'v1.other')))), 20],
    ['an entry line that no longer closes as JSON', () => withEntries(entries().map((l) => (parse(l).seq === at(7) ? `${l.slice(0, -1)}x` : l))), 7],
  ])('detects %s with the first bad sequence number', async (_name, make, firstBad) => {
    const result = await verifyExport(asLines(make()), publicJwks);
    expect(result).toMatchObject({ ok: false, firstBadSeq: at(firstBad) });
  });

  it('detects a rollback to an earlier state against a checkpoint the officer kept', async () => {
    // The log as it was at seq 20, with its own valid checkpoint: consistent, but older than what the officer holds.
    const rolledBack = withEntries(entries().slice(0, at(20)), JSON.stringify({ ...parse(header()), to: at(20) }), checkpoints().slice(0, 1));
    expect(await verifyExport(asLines(rolledBack), publicJwks)).toMatchObject({ ok: true });
    expect(await verifyExport(asLines(rolledBack), publicJwks, [checkpoint50])).toMatchObject({ ok: false, firstBadSeq: at(21), reason: expect.stringContaining('rolled back') as unknown });
  });

  it('refuses a checkpoint signed by another key', async () => {
    const forged = checkpoints().map((l) => JSON.stringify({ ...parse(l), jws: String(parse(l).jws).replace(/.{4}$/, 'AAAA') }));
    expect(await verifyExport(asLines(withEntries(entries(), header(), forged)), publicJwks)).toMatchObject({ ok: false, reason: expect.stringContaining('signature') as unknown });
  });

  it('is what `veilgate audit export` writes and `veilgate audit verify FILE --key` checks, exiting 1 on tampering', async () => {
    const exported = await runVeilgate(['audit', 'export', '--config', ws.configFile]);
    expect(exported.status).toBe(0);
    const good = join(ws.dir, 'audit.ndjson');
    writeFileSync(good, exported.stdout);
    const ok = await runVeilgate(['audit', 'verify', good, '--key', join(keysDir, 'gateway.jwks.pub.json')]);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: at(50) });
    const bad = join(ws.dir, 'tampered.ndjson');
    writeFileSync(bad, exported.stdout.replace('v1.account13', 'v1.account99'));
    const tampered = await runVeilgate(['audit', 'verify', bad, '--key', join(keysDir, 'gateway.jwks.pub.json')]);
    expect(tampered.status).toBe(1);
    expect(JSON.parse(tampered.stdout)).toMatchObject({ ok: false, firstBadSeq: expect.any(Number) as unknown });
  });
});
