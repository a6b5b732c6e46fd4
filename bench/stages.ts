/**
 * Per-stage cost of ingest (not a test): `npm run bench:stages -- --records N`.
 *
 * Runs the pipeline's own stages on one thread, one batch at a time, on N generated placements
 * (the same generator as bench:ingest), against a real SQLite store in a temp dir, and times each:
 * parse (CSV → raw records), prepare (validate, minimise, tokenise), seal (account lookups, subject
 * data keys, AES-GCM), write (staging) and commit. No decryption, no worker thread, no overlap: the
 * sum is what one record costs the gateway on one core, garbage collection included in the stage
 * that allocated. Also counts the tokens (HMAC-SHA-256) and subject keys made per record. The
 * generated plaintext is held in memory (about 290 MB per million records) so that making it is
 * not timed.
 *
 * What it is for: bench:ingest says how fast; this says where. A target of R records/s on C cores
 * needs the sum below C / R (50,000 records/s on 2 cores: 40 µs per record).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config/load.js';
import { buildDeps } from '../src/deps.js';
import { createLogger } from '../src/lib/log.js';
import { systemClock } from '../src/lib/clock.js';
import { placementCsv } from '../src/demo/sample-placements.js';
import { newFileTally, readRecords, type RawRecord } from '../src/parse/read-records.js';
import { prepareBatch } from '../src/pipeline/prepare-batch.js';
import { sealBatch, settleSubjectKeys, writeBatch, type BatchContext } from '../src/pipeline/process-batch.js';
import { batches } from '../src/pipeline/batches.js';
import { recordSchemas } from '../src/validate/schemas.js';
import { Tokeniser } from '../src/tokenise/tokens.js';
import type { TokenDomain } from '../src/tokenise/tokens.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '100000' } } });
const records = Number(values.records);
const work = mkdtempSync(join(tmpdir(), 'vg-stages-'));

const { config } = loadConfig({ dataDir: join(work, 'data') });
const deps = await buildDeps(config, { clock: systemClock, log: createLogger({ level: 'silent' }) });

/** The deps' tokeniser, counting the tokens it makes (each one HMAC-SHA-256). */
class CountingTokeniser extends Tokeniser {
  made = 0;
  override internal(domain: TokenDomain, value: string): string {
    this.made++;
    return super.internal(domain, value);
  }
  override internalAllVersions(domain: TokenDomain, value: string): string[] {
    const all = super.internalAllVersions(domain, value);
    this.made += all.length;
    return all;
  }
}
const tokeniser = new CountingTokeniser(deps.keys);

// The file's receipt and lease, as the CLI would make them (the bytes are not spooled: nothing reads them).
const receiptId = `rcpt_stages_${Date.now()}`;
const now = new Date().toISOString();
await deps.store.receiveFile(
  { receiptId, source: 'demo-bank', kind: 'placement', channel: 'cli', envelope: 'pgp', fileName: 'stages', sha256: createHash('sha256').update(receiptId).digest('hex'), sizeBytes: 0, spoolPath: join(work, 'none'), receivedAt: now },
  { actor: 'source:demo-bank', action: 'file.received', target: receiptId, details: {} },
);
const lease = (await deps.store.claimFile(receiptId, deps.workerId, Date.now(), 3_600_000, () => false))!;

const tally = newFileTally();
const ctx: BatchContext = { source: 'demo-bank', kind: 'placement', lease, dropped: tally.droppedFields, today: new Date(), pendingKeys: new Map() };
const source = config.sources['demo-bank']!;
// Made before the clock starts: generating the records is not the gateway's work.
const chunks = [...placementCsv(records, { seed: 1, trailer: true })].map((chunk) => Buffer.from(chunk));
async function* plaintext(): AsyncGenerator<Uint8Array> {
  yield* chunks;
}
const rawBatches = batches(readRecords(plaintext(), { format: source.format, kind: 'placement', mapping: source.mapping, knownFields: recordSchemas().knownFields.placement, limits: config.limits }, tally), config.limits.stagingBatchRecords);

const spent = { parse: 0, prepare: 0, seal: 0, write: 0, commit: 0 };
let keysMade = 0;
const clock = () => process.hrtime.bigint();
const lap = (from: bigint) => Number(clock() - from) / 1e9;

const stageBatch = async (batch: RawRecord[]) => {
  let t = clock();
  const prepared = prepareBatch(batch, ctx, { policy: deps.policy, tokeniser });
  spent.prepare += lap(t);
  t = clock();
  const sealed = await sealBatch(deps, prepared, ctx);
  spent.seal += lap(t);
  keysMade += sealed.created.size;
  t = clock();
  await writeBatch(deps, ctx, sealed);
  spent.write += lap(t);
};
for (;;) {
  const t = clock();
  const next = await rawBatches.next();
  spent.parse += lap(t);
  if (next.done === true) break;
  await stageBatch(next.value);
}

const t = clock();
await settleSubjectKeys(deps, lease);
const outcome = await deps.store.commitFile(lease, '{}', new Date().toISOString(), { actor: 'gateway', action: 'file.committed', target: receiptId, details: {} });
spent.commit = lap(t);
if (outcome !== 'committed') throw new Error(`commit: ${outcome}`);
await deps.store.close();
rmSync(work, { recursive: true, force: true });

const total = Object.values(spent).reduce((a, b) => a + b, 0);
console.log(`${records.toLocaleString('en-US')} placements, one thread, SQLite; µs per record:`);
for (const [stage, seconds] of Object.entries(spent)) {
  console.log(`  ${stage.padEnd(8)} ${seconds.toFixed(2).padStart(7)} s  ${((seconds / records) * 1e6).toFixed(1).padStart(6)} µs  ${((seconds / total) * 100).toFixed(0).padStart(3)} %`);
}
console.log(`  ${'total'.padEnd(8)} ${total.toFixed(2).padStart(7)} s  ${((total / records) * 1e6).toFixed(1).padStart(6)} µs  (${Math.round(records / total).toLocaleString('en-US')} records/s on one core)`);
console.log(`tokens made: ${(tokeniser.made / records).toFixed(2)} per record; subject data keys made: ${(keysMade / records).toFixed(2)} per record`);
