import { readFile } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import type { Deps } from '../deps.js';
import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import { countBytes } from '../lib/count-bytes.js';
import { openPgpFile, type OpenedFile } from '../open/pgp.js';
import { checkControlTotals, type ControlTotalsReport } from '../parse/control-totals.js';
import { addDataRow } from '../parse/control-totals.js';
import { columnMapper } from '../parse/mapping.js';
import { newFileTally, readRecords, type FileTally, type RawRecord } from '../parse/read-records.js';
import type { FileRow, Lease } from '../store/store.js';
import { recordSchemas } from '../validate/schemas.js';
import { committedAck, rejectedAck, type Ack } from './ack.js';
import { batches, gathered, preparedChunks, preparedInBatches, type PreparedRows } from './batches.js';
import { isFinal, rejectsFile } from './file-states.js';
import { keepLease } from './lease-keeper.js';
import { prepareBatch, type PrepareContext, type PreparedBatch } from './prepare-batch.js';
import { PrepareWorker, WorkerSlots, type PreparedFile } from './prepare-worker.js';
import { rejectRepeatedAccounts, sealBatch, settleSubjectKeys, writeBatch } from './process-batch.js';

export interface Progress {
  records: number;
  plaintextBytes: number;
}

/**
 * The use case: one spooled file through open → parse → validate → minimise → tokenise → commit
 * (DESIGN §2), ending in exactly one final state with its acknowledgement.
 *
 * Crash safety: the file is claimed under a lease with a fencing token; staged rows are invisible
 * until the single commit transaction; a worker that dies leaves the file `processing`, and the next
 * claim clears its staging and replays it from the spool. Running it again therefore converges.
 *
 * @throws GatewayError PIPELINE_BUSY (another live worker has it), PIPELINE_LEASE_LOST; anything
 *   else thrown is a bug, and the file stays unfinished for a replay.
 */
export async function processFile(deps: Deps, receiptId: string, onProgress?: (p: Progress) => void): Promise<Ack> {
  const file = await deps.store.getFile(receiptId);
  if (file === null) throw new GatewayError('SPOOL_MISSING', { receiptId });
  if (isFinal(file.state)) return JSON.parse(file.ack!) as Ack;

  const lease = await deps.store.claimFile(receiptId, deps.workerId, deps.clock.now().getTime(), deps.config.limits.leaseTtlMs, ownerIsDead);
  if (lease === null) throw new GatewayError('PIPELINE_BUSY', { receiptId });
  return processClaimed(deps, file, lease, onProgress);
}

/**
 * Files this process is working on now. A lease held by this process is its own to take again (a
 * retry after a failure need not wait for it to expire), so the recovery loop must be told which of
 * them are in flight, or it would take a long file from under the poller that is processing it.
 */
const inFlight = new Set<string>();

export function filesInFlight(): string[] {
  return [...inFlight];
}

/** processFile for a file this worker has claimed already (the recovery loop claims the next one it may). */
export async function processClaimed(deps: Deps, file: FileRow, lease: Lease, onProgress?: (p: Progress) => void): Promise<Ack> {
  const log = deps.log.child({ receiptId: file.receiptId, source: file.source, kind: file.kind });
  const keeper = keepLease(deps, lease, deps.config.limits.leaseTtlMs);
  const tally = newFileTally();
  inFlight.add(file.receiptId);
  try {
    const stagingStarted = performance.now();
    const opened = { ...await stageFile(deps, file, lease, tally, onProgress), stagingMs: Math.round(performance.now() - stagingStarted) };
    const controlTotals = checkControlTotals(tally.totals, { requireTrailer: deps.config.sources[file.source]!.requireTrailer, sumsBalance: file.kind !== 'recall' });
    return await commit(deps, file, lease, tally, controlTotals, opened, log);
  } catch (e) {
    if (!isGatewayError(e) || !rejectsFile(e.code)) throw e;
    return await reject(deps, file, lease, e, tally, log);
  } finally {
    keeper.stop();
    inFlight.delete(file.receiptId);
  }
}

/**
 * Spooled files from this size on are decrypted, parsed, validated and tokenised on a worker thread
 * (prepare-worker.ts), about 15k records of a compressed placement file, when
 * `limits.prepareOnWorker` is on; smaller ones would spend more on starting the thread than they gain.
 */
const prepareOnWorkerFromBytes = 1 << 20;
const workerSlots = new WorkerSlots(Math.max(1, availableParallelism() - 1));

/** A batch on its way to staging: how many data rows it came from, and those rows prepared. */
interface PreparingBatch {
  rows: number;
  prepared: PreparedBatch | Promise<PreparedBatch>;
}

/** Reads the whole file into staging; returns what the open stage learned once integrity was proven. */
async function stageFile(deps: Deps, file: FileRow, lease: Lease, tally: FileTally, onProgress?: (p: Progress) => void): Promise<OpenedFacts> {
  const ctx = { source: file.source, kind: file.kind, lease, dropped: tally.droppedFields, today: deps.clock.now(), pendingKeys: new Map<string, Buffer>() };
  const prepareCtx = { source: ctx.source, kind: ctx.kind, today: ctx.today };
  const batchRecords = deps.config.limits.stagingBatchRecords;
  const progress: Progress = { records: 0, plaintextBytes: 0 };
  const staged = (rows: number) => {
    progress.records += rows;
    onProgress?.(progress);
  };
  /**
   * Seals batch N, then writes it once batch N-1 is written: on PostgreSQL the write is the server's
   * work, which then overlaps the sealing of the next batch (and the worker's preparing, if on).
   */
  const stage = async (prepared: AsyncIterable<PreparingBatch>) => {
    let writing: Promise<void> = Promise.resolve();
    try {
      for await (const batch of prepared) {
        const sealed = await sealBatch(deps, await batch.prepared, ctx);
        // One write at a time, in batch order: a lost lease stops the file at the next batch.
        await writing;
        writing = writeBatch(deps, ctx, sealed).then(() => staged(batch.rows));
        writing.catch(() => undefined); // awaited before the next write, or at the end
        await loopTurn();
      }
      await writing;
    } finally {
      // Nothing of this file is written after this returns (or throws): a rejection clears staging.
      await writing.catch(() => undefined);
    }
  };

  const slot = deps.config.limits.prepareOnWorker && file.sizeBytes >= prepareOnWorkerFromBytes ? workerSlots.take() : null;
  const preparedOnWorker = slot !== null;
  const worker = slot !== null ? new PrepareWorker(deps.keys, deps.policy) : null;
  try {
    if (file.envelope === 'jose') {
      const prepareHere = (records: AsyncIterable<RawRecord[]>) => preparedInBatches(records, batchRecords, (chunk) => prepareBatch(chunk, prepareCtx, deps));
      const stageRecords = (records: AsyncIterable<RawRecord[]>) => stage(worker === null ? prepareHere(records) : oneAhead(worker, batches(records, batchRecords), prepareCtx));
      return { ...(await stageJoseFile(deps, file, lease, tally, stageRecords)), preparedOnWorker };
    }

    const source = deps.config.sources[file.source]!;
    const read = { format: source.format, kind: file.kind, mapping: source.mapping, knownFields: recordSchemas().knownFields[file.kind], limits: deps.config.limits };
    const decryptionKeys = deps.keys.pgpPrivateKeys;
    const verificationKeys = deps.keys.sourcePgpKeys.get(file.source) ?? [];
    const opened = worker !== null
      ? worker.decryptAndPrepare(
        { spoolPath: file.spoolPath, decryptionKeys: decryptionKeys.map((k) => k.write()), verificationKeys: verificationKeys.map((k) => k.write()), requireSignature: source.requireSignature },
        { read, batchRecords, ctx: prepareCtx }, tally, progress,
      )
      : preparedHere(
        await openPgpFile(file.spoolPath, { decryptionKeys, verificationKeys, requireSignature: source.requireSignature, limits: deps.config.limits }),
        (plaintext) => preparedChunks(readRecords(countBytes(plaintext, progress), read, tally), batchRecords, (chunk) => prepareBatch(chunk, prepareCtx, deps)),
      );

    let fileProblem: GatewayError | undefined;
    try {
      await stage(gathered(opened.prepared, batchRecords));
    } catch (e) {
      if (!isGatewayError(e) || !rejectsFile(e.code) || e.code.startsWith('OPEN_')) {
        await opened.abort();
        throw e;
      }
      fileProblem = e;
    }
    // The integrity and signature checks at the end of the message decide first: for a tampered file,
    // a parse error found on the way would be a finding about an attacker's plaintext.
    const { signerKeyId } = await opened.finish();
    if (fileProblem !== undefined) throw fileProblem;
    if (tally.totals.dataRows === 0) throw new GatewayError('FILE_NO_RECORDS');
    // Done with the thread: its memory goes before the store's commit thread (SQLite) takes its own.
    await worker?.close();
    await rejectRepeatedAccounts(deps, lease);
    return { signerKeyId, plaintextBytes: progress.plaintextBytes, preparedOnWorker };
  } finally {
    await worker?.close(); // again, harmlessly, if it already was
    slot?.release();
  }
}

/**
 * Lets the event loop take a turn between staging batches. Sealing and SQLite writes are synchronous,
 * and the worker's chunks arrive as messages that Node hands over up to a thousand at a time, with
 * promise callbacks run between them: without this, staging went on for up to 1.6 s without the API
 * answering (serve, a 1,000,000-record upload, veilgate_event_loop_delay_max_seconds).
 */
function loopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A file opened on this thread, its records prepared here: the same shape as one opened on the worker. */
function preparedHere(opened: OpenedFile, prepare: (plaintext: AsyncIterable<Uint8Array>) => AsyncIterable<PreparedRows>): PreparedFile {
  return { prepared: prepare(opened.plaintext), finish: () => opened.finish(), abort: () => opened.abort() };
}

/** Raw batches prepared on the worker, each sent there before the one before it is handed on. */
async function* oneAhead(worker: PrepareWorker, raw: AsyncIterable<RawRecord[]>, ctx: PrepareContext): AsyncGenerator<PreparingBatch> {
  let ahead: PreparingBatch | null = null;
  for await (const batch of raw) {
    const prepared = worker.prepare(batch, ctx);
    prepared.catch(() => undefined); // awaited by the stager; not at all if staging fails first
    if (ahead !== null) yield ahead;
    ahead = { rows: batch.length, prepared };
  }
  if (ahead !== null) yield ahead;
}

/** What staging learned of a file for its commit: who signed it, its size, and how it was prepared. */
interface OpenedFacts {
  signerKeyId: string | null;
  plaintextBytes: number;
  /** Opened and prepared on the worker thread (`limits.prepareOnWorker`, files of 1 MiB and more). */
  preparedOnWorker: boolean;
}

/**
 * A JOSE record batch (POST /v1/records): a JWE is authenticated as a whole (AES-GCM) and its JWS is
 * verified before any record is read, so records can be staged at once.
 */
async function stageJoseFile(deps: Deps, file: FileRow, lease: Lease, tally: FileTally, stage: (records: AsyncIterable<RawRecord[]>) => Promise<void>): Promise<{ signerKeyId: string | null; plaintextBytes: number }> {
  const compact = await readFile(file.spoolPath, 'utf8');
  const opened = await deps.jose.openRecords(compact, file.source);
  if (opened.kind !== file.kind) throw new GatewayError('JOSE_PAYLOAD_INVALID', { reason: 'kind differs from the receipt' });
  const source = deps.config.sources[file.source]!;
  const mapper = columnMapper(null, { mapping: source.mapping, knownFields: recordSchemas().knownFields[file.kind], kind: file.kind }, 'account_ref');
  const raw: RawRecord[] = opened.records.map((record, i) => {
    const fields = mapper.objectToFields(record, tally.droppedFields);
    addDataRow(tally.totals, fields.balance);
    return { recordNo: i + 1, fields };
  });
  if (raw.length === 0) throw new GatewayError('FILE_NO_RECORDS');
  await stage((async function* () {
    yield raw;
  })());
  await rejectRepeatedAccounts(deps, lease);
  return { signerKeyId: opened.signerKid, plaintextBytes: compact.length };
}

async function commit(
  deps: Deps, file: FileRow, lease: Lease, tally: FileTally, controlTotals: ControlTotalsReport,
  /** stagingMs: decrypting, parsing, preparing, sealing and writing, until the file's integrity was proven. */
  opened: OpenedFacts & { stagingMs: number }, log: Deps['log'],
): Promise<Ack> {
  const limit = deps.config.limits.maxAckErrors;
  const counts = await deps.store.findingCounts(file.receiptId);
  const [errors, warningList] = await Promise.all([
    deps.store.listFindings(file.receiptId, 'error', limit),
    deps.store.listFindings(file.receiptId, 'warning', limit),
  ]);
  const ack = committedAck(file, {
    records: tally.totals.dataRows, rejectedRecords: counts.rejectedRecords, warnings: counts.warnings,
    controlTotals, dropped: tally.droppedFields, errors, warningList, truncated: counts.errors > limit || counts.warnings > limit,
  });
  const audit = {
    actor: 'gateway', action: file.kind === 'recall' ? 'file.committed.recall' : 'file.committed', target: file.receiptId,
    details: {
      source: file.source, kind: file.kind, signerKeyId: opened.signerKeyId, plaintextBytes: opened.plaintextBytes,
      records: ack.counts.records, accepted: ack.counts.accepted, rejected: ack.counts.rejected, droppedFields: Object.keys(ack.dropped_fields),
    },
  };
  // A file that met a subject another file was committing at the same time settles its keys and tries
  // again; each round only follows another commit, so this ends.
  const commitStarted = performance.now();
  let outcome: Awaited<ReturnType<Deps['store']['commitFile']>> = 'subject-key-conflict';
  for (let round = 0; outcome === 'subject-key-conflict' && round < 10; round++) {
    await settleSubjectKeys(deps, lease);
    outcome = await deps.store.commitFile(lease, JSON.stringify(ack), deps.clock.now().toISOString(), audit);
  }
  if (outcome !== 'committed') throw new GatewayError('PIPELINE_LEASE_LOST', { receiptId: file.receiptId, outcome });
  // The two durations say where a slow file's time went: staging grows with the file, the commit with
  // the file and with the accounts and subjects already stored.
  log.info({
    recordCount: ack.counts.records, accepted: ack.counts.accepted, rejected: ack.counts.rejected, preparedOnWorker: opened.preparedOnWorker,
    stagingMs: opened.stagingMs, commitMs: Math.round(performance.now() - commitStarted),
  }, 'file committed');
  return ack;
}

async function reject(deps: Deps, file: FileRow, lease: Lease, error: GatewayError, tally: FileTally, log: Deps['log']): Promise<Ack> {
  const totals = error.code === 'FILE_CONTROL_TOTAL_MISMATCH'
    ? { record_count: tally.totals.dataRows, total_balance: null, matched: false }
    : null;
  const ack = rejectedAck(file, error, totals);
  const rejected = await deps.store.rejectFile(lease, JSON.stringify(ack), error.code, deps.clock.now().toISOString(), {
    actor: 'gateway', action: 'file.rejected', target: file.receiptId, details: { source: file.source, kind: file.kind, code: error.code },
  });
  if (!rejected) throw new GatewayError('PIPELINE_LEASE_LOST', { receiptId: file.receiptId });
  log.warn({ code: error.code, details: error.details }, 'file rejected');
  return ack;
}

/** A lease owner on this host whose process is gone cannot finish: its file may be taken at once. */
export function ownerIsDead(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== hostname() || pid === undefined) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
