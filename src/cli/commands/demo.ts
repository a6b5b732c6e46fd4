import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import * as openpgp from 'openpgp';
import type { RecordKind } from '../../config/types.js';
import { buildApp } from '../../app.js';
import { buildDeps } from '../../deps.js';
import { csvRow, placementCsv, placementColumns } from '../../demo/sample-placements.js';
import { systemClock } from '../../lib/clock.js';
import { packageRoot } from '../../lib/paths.js';
import { encryptToFile } from '../../open/pgp-write.js';
import type { Ack } from '../../pipeline/ack.js';
import { cliLogger, commonOptions, exit, loadFromFlags, parse, type Command } from '../io.js';

/**
 * `veilgate demo`: what a newcomer sees first. It plays the creditor (makes a placement file with a
 * few deliberately bad records, encrypts and signs it with the demo creditor key), then the gateway
 * (ingests it), prints the acknowledgement and shows what was stored: tokens and ciphertext, no names.
 */
export const demoCommand: Command = async (argv, io) => {
  const { values } = parse(argv, { ...commonOptions, serve: { type: 'boolean' }, port: { type: 'string' } }, false);
  const { config } = loadFromFlags(values, io);
  const deps = await buildDeps(config, { clock: systemClock, log: cliLogger(values['log-level'], io) });
  const say = (text: string) => io.stdout.write(`${text}\n`);
  const app = buildApp(deps);
  // The demo's own gateway: the configured port with --serve (to keep using it), any free port otherwise.
  const { url } = await app.listen(values.port !== undefined ? Number(values.port) : values.serve === true ? undefined : 0);
  try {
    say(`== 0. the gateway is running on the demo configuration at ${url} (DEMO KEYS: never for real data)`);
    const outbox = join(config.dataDir, 'demo-outbox');
    mkdirSync(outbox, { recursive: true });
    const day = systemClock.now().toISOString().slice(0, 10).replaceAll('-', '');
    const stamp = Date.now().toString(36);

    say('== 1. demo-bank (the creditor) writes a placement file, encrypts it to the gateway key and signs it with its own key');
    const placement = join(outbox, `demo-bank_placement_${day}_${stamp}.csv.pgp`);
    await encryptToFile(demoPlacementCsv(stamp), placement, await creditorKeys('demo-bank'));
    say(`   ${placement}`);

    const feedBefore = await deps.store.feedHead();
    say('\n== 2. demo-bank uploads it (POST /v1/files); the gateway decrypts, verifies, validates, minimises, tokenises, commits');
    const placed = await upload(url, 'demo-bank', 'placement', placement, `demo-${stamp}-placement`);
    say(JSON.stringify(placed, null, 2));

    say('\n== 3. what is stored for the first two accounts (no name, SSN or card number in clear; the vault is AES-256-GCM ciphertext)');
    for (const r of await deps.store.listRecords(placed.receipt_id, 2)) {
      say(JSON.stringify({ record: r.recordNo, account_token: r.accountToken, subject_token: r.subjectToken, data: JSON.parse(r.data) as unknown, vault: r.vault === null ? null : `${r.vault.length} bytes of ciphertext` }));
    }
    const dbFile = join(config.dataDir, config.storage.sqliteFile);
    const stored = [dbFile, `${dbFile}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
    say(`   the database files contain the sample name "Avery": ${stored.some((b) => b.includes('Avery')) ? 'YES (a bug!)' : 'no'}`);

    say('\n== 4. demo-bank recalls two accounts');
    const recall = join(outbox, `demo-bank_recall_${day}_${stamp}.csv.pgp`);
    await encryptToFile(
      [csvRow(['account_ref', 'recall_reason', 'effective_date']), csvRow([`DEMO${stamp}-000000001`, 'paid_to_creditor', '2026-11-01']), csvRow([`DEMO${stamp}-000000002`, 'disputed', '2026-11-02'])],
      recall, await creditorKeys('demo-bank'),
    );
    say(JSON.stringify(await upload(url, 'demo-bank', 'recall', recall, `demo-${stamp}-recall`), null, 2));

    say('\n== 5. the same placement file again (a new Idempotency-Key) is a duplicate and changes nothing');
    const again = await upload(url, 'demo-bank', 'placement', placement, `demo-${stamp}-again`);
    say(JSON.stringify({ status: again.status, duplicate_of: again.duplicate_of }));

    say('\n== 6. demo-collector (a collection system) reads its feed for the purpose collection-contact: its own tokens, only granted fields');
    const feed = await recipientCall<{ events: Array<{ type: string; view: { account: string; subject: string; fields: object; withheld: object; status: string } }> }>(url, 'demo-collector', 'collection-contact', `/v1/feed?after=${feedBefore}&limit=12`);
    const first = feed.events.find((e) => e.type === 'account.placed' && e.view.status === 'placed')!;
    say(JSON.stringify(first, null, 2));
    const tombstone = feed.events.find((e) => e.type === 'account.recalled');
    if (tombstone !== undefined) say(`   a recalled account is a tombstone: ${JSON.stringify(tombstone.view)}`);

    say('\n== 7. the debtor sends a cease letter; demo-collector reports it, and from now on no recipient gets contact fields');
    await recipientCall(url, 'demo-collector', 'collection-contact', `/v1/subjects/${first.view.subject}/restrictions`, { restrictions: { cease_communication: 'Y' } });
    const after = await recipientCall<{ withheld: object }>(url, 'demo-collector', 'collection-contact', `/v1/accounts/${first.view.account}`);
    say(`   withheld now: ${JSON.stringify(after.withheld)}`);
    say('   every read above is in the audit log with its purpose, fields and policy version: npx veilgate audit verify');

    say(`\nDone. Data in ${resolve(config.dataDir)}; try: npx veilgate status, npx veilgate audit verify`);
    if (values.serve === true) {
      say(`\nThe gateway keeps running at ${url} (API description: ${url}/v1/openapi.json). Ctrl-C stops it.`);
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
    }
    return exit.ok;
  } finally {
    await app.close();
    await deps.store.close();
  }
};

/** Uploads a file as the creditor's system would: POST /v1/files with its bearer key and an Idempotency-Key. */
async function upload(url: string, source: string, kind: RecordKind, path: string, idempotencyKey: string): Promise<Ack> {
  const res = await fetch(`${url}/v1/files?kind=${kind}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${readFileSync(join(packageRoot, 'keys-example', `${source}.api-key`), 'utf8').trim()}`,
      'idempotency-key': idempotencyKey,
      'content-type': 'application/octet-stream',
      'x-veilgate-file-name': basename(path),
    },
    body: new Blob([new Uint8Array(readFileSync(path))]),
  });
  return (await res.json()) as Ack;
}

/** A collection system's call: its bearer key and the purpose of the read. */
async function recipientCall<T>(url: string, recipient: string, purpose: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${readFileSync(join(packageRoot, 'keys-example', `${recipient}.api-key`), 'utf8').trim()}`,
      'x-veilgate-purpose': purpose,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function creditorKeys(source: string) {
  const dir = join(packageRoot, 'keys-example');
  return {
    encryptionKeys: [await openpgp.readKey({ armoredKey: readFileSync(join(dir, 'gateway.pgp.pub.asc'), 'utf8') })],
    signingKeys: [await openpgp.readPrivateKey({ armoredKey: readFileSync(join(dir, `${source}.pgp.asc`), 'utf8') })],
  };
}

/** Ten good placements, then three a creditor's IT team would have to fix, and an unknown column. */
function* demoPlacementCsv(stamp: string): Generator<string> {
  const rows = [...placementCsv(10, { seed: 7, sourcePrefix: `DEMO${stamp}` })].join('').split('\r\n').filter((l) => l !== '');
  yield rows[0]!.replace(/\r?$/, ',legacy_system_id\r\n');
  for (const row of rows.slice(1)) yield `${row},X-1\r\n`;
  const bad = (ref: string, changes: Record<string, string>) => {
    const base: Record<string, string> = {
      account_ref: ref, debt_type: 'credit_card', original_creditor: 'Demo Bank Card Services', delinquency_date: '2025-02-01',
      balance: '120.00', currency: 'USD', first_name: 'Robin', last_name: 'Example', country: 'US', national_id_type: 'us_ssn',
    };
    const cells = placementColumns.map((c) => ({ ...base, ...changes })[c] ?? '');
    return csvRow([...cells, 'X-2']);
  };
  yield bad(`DEMO${stamp}-BAD-1`, { national_id: '000-12-3456' });
  yield bad(`DEMO${stamp}-BAD-2`, { iban: 'DE00370400440532013000', national_id: '' });
  yield bad(`DEMO${stamp}-BAD-3`, { balance: '12.345' });
}
