import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import * as openpgp from 'openpgp';
import { fromThreadFailure, toThreadFailure, type ThreadFailure } from '../errors/thread-failure.js';
import type { KeyRing } from '../keys/keyring.js';
import { countBytes } from '../lib/count-bytes.js';
import { threadOf } from '../lib/thread-entry.js';
import type { MinimisationPolicy } from '../minimise/policy.js';
import { openPgpFile, type OpenedFile } from '../open/pgp.js';
import { newFileTally, readRecords, type FileTally, type RawRecord, type ReadRecordsOptions } from '../parse/read-records.js';
import { Tokeniser } from '../tokenise/tokens.js';
import type { PreparedRows } from './batches.js';
import { addDropped, prepareBatch, type PrepareContext, type PreparedBatch } from './prepare-batch.js';

/** What the thread is started with: the token keys (they never leave this process) and the policy. */
interface PrepareWorkerData {
  tokenKeys: ReadonlyMap<number, Uint8Array>;
  currentToken: { version: number; key: Uint8Array };
  policy: MinimisationPolicy;
}

/** How to read and prepare a file's plaintext on the thread. */
export interface StreamJob {
  readonly read: ReadRecordsOptions;
  /** The staging batch size: prepared rows waiting on the main thread are bounded in batches. */
  readonly batchRecords: number;
  readonly ctx: PrepareContext;
}

/**
 * A spooled OpenPGP file for the thread to open itself, with the keys to open it (as bytes: key
 * objects cannot cross; they stay in this process). The limits are the job's.
 */
export interface EncryptedFileJob {
  readonly spoolPath: string;
  readonly decryptionKeys: readonly Uint8Array[];
  readonly verificationKeys: readonly Uint8Array[];
  readonly requireSignature: boolean;
}

/**
 * A file being decrypted, parsed and prepared on the thread: an `OpenedFile` whose plaintext comes out
 * as prepared rows. They are unauthenticated until `finish()` resolves, so they go into staging only.
 */
export interface PreparedFile extends Omit<OpenedFile, 'plaintext'> {
  /**
   * Prepared chunks in file order (a few dozen rows each: `gathered` makes staging batches of them).
   * When they have all come, the file's control totals and dropped columns are in the tally.
   * @throws GatewayError OPEN_NOT_OPENPGP, OPEN_DECRYPT_FAILED, OPEN_INTEGRITY_FAILED,
   *   OPEN_DECOMPRESSED_TOO_LARGE as decryption meets them; what readRecords throws (PARSE_*,
   *   FILE_TRAILER_INVALID).
   */
  readonly prepared: AsyncIterable<PreparedRows>;
}

/**
 * Worker threads in use, process-wide: a file gets one only while fewer than `max` are busy (one per
 * core beside the main thread's, by default), so that files processed at the same time (several
 * sources, API uploads) do not each add a thread's memory or compete for the same cores.
 */
export class WorkerSlots {
  #busy = 0;
  constructor(readonly max: number) {}

  /** A slot, or null when all are taken (the file is then prepared on the main thread). */
  take(): { release(): void } | null {
    if (this.#busy >= this.max) return null;
    this.#busy++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#busy--;
      },
    };
  }
}

/** The file's tally as it crosses the thread boundary: the balance sum as minor units. */
interface TallyMessage {
  dataRows: number;
  balanceMinor: bigint;
  balanceUnreadable: number;
  trailer: FileTally['totals']['trailer'];
  droppedFields: Map<string, number>;
}


type Request =
  | { type: 'prepare'; id: number; batch: readonly RawRecord[]; ctx: PrepareContext }
  | { type: 'decrypt'; file: EncryptedFileJob; job: StreamJob }
  /** Rows of the file's prepared chunks taken by the stager: room for as many more. */
  | { type: 'taken'; rows: number }
  | { type: 'finish' }
  | { type: 'abort' };
type Reply =
  | { type: 'prepared'; id: number; prepared: PreparedBatch }
  | { type: 'prepare-failed'; id: number; error: string }
  /** plaintextBytes: decrypted so far, for progress. */
  | { type: 'batch'; batch: PreparedRows; plaintextBytes: number }
  | { type: 'done'; tally: TallyMessage }
  | { type: 'failed'; failure: ThreadFailure }
  | { type: 'finished'; signerKeyId: string | null }
  | { type: 'finish-failed'; failure: ThreadFailure }
  | { type: 'aborted' };

/**
 * Prepared rows the thread runs ahead of the stager by, at most: it waits for them to be taken before
 * it decrypts further, so that memory stays bounded whatever the file's size.
 */
const maxQueuedBatches = 2;

/**
 * Decryption, parsing, validation, minimisation and tokenising on a worker thread, beside the main
 * thread's sealing and store writes. Only computation moves: every store call stays on the main
 * thread, in the same order and transactions, so crash safety is unchanged. Sealing stays on the
 * main thread: it needs the store's accounts and subject keys.
 *
 * Two uses: `decryptAndPrepare` opens a spooled file on the thread, so that neither its plaintext nor
 * its records cross, only their prepared strings; `prepare` takes batches of records already read
 * (JOSE bodies, which are opened and parsed whole). Answers come in order.
 */
export class PrepareWorker {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (p: PreparedBatch) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #failed: Error | null = null;
  /** The stream being parsed, if any: it takes the thread's stream replies. */
  #stream: ((reply: Reply) => void) | null = null;

  constructor(keys: Pick<KeyRing, 'tokenKeys' | 'currentToken'>, policy: MinimisationPolicy) {
    const data: PrepareWorkerData = { tokenKeys: keys.tokenKeys, currentToken: keys.currentToken, policy };
    this.#worker = threadOf(import.meta.url, {
      workerData: data,
      // Its live data is a batch or two and a megabyte of plaintext; without a bound V8 would let
      // garbage grow far past that.
      resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 },
    });
    this.#worker.on('message', (reply: Reply) => {
      if (reply.type !== 'prepared' && reply.type !== 'prepare-failed') {
        this.#stream?.(reply);
        return;
      }
      const waiter = this.#waiting.get(reply.id)!;
      this.#waiting.delete(reply.id);
      if (reply.type === 'prepare-failed') waiter.reject(new Error(`prepare worker: ${reply.error}`));
      else waiter.resolve(reply.prepared);
    });
    const fail = (error: Error) => {
      this.#failed = error;
      for (const waiter of this.#waiting.values()) waiter.reject(error);
      this.#waiting.clear();
      this.#stream?.({ type: 'failed', failure: { bug: error.message } });
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`prepare worker exited (${code})`)));
  }

  prepare(batch: readonly RawRecord[], ctx: PrepareContext): Promise<PreparedBatch> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    const id = this.#nextId++;
    return new Promise<PreparedBatch>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ type: 'prepare', id, batch, ctx } satisfies Request);
    });
  }

  /**
   * Opens `file` on the thread and yields its records prepared, in file order, no more than
   * `maxQueuedBatches` staging batches ahead of the caller. Decrypted bytes so far go to `progress`.
   */
  decryptAndPrepare(file: EncryptedFileJob, job: StreamJob, tally: FileTally, progress: { plaintextBytes: number }): PreparedFile {
    if (this.#stream !== null) throw new Error('prepare worker: one file at a time');
    /** Prepared chunks not yet handed on. */
    const queue: PreparedRows[] = [];
    const state = { done: false, failure: null as Error | null, verdict: null as Reply | null };
    // The generator and the verdict's waiters below wait for "something changed": a reply.
    let changed = signal();
    this.#stream = (reply) => {
      if (reply.type === 'batch') {
        queue.push(reply.batch);
        progress.plaintextBytes = reply.plaintextBytes;
      } else if (reply.type === 'done') {
        addTally(tally, reply.tally);
        state.done = true;
      } else if (reply.type === 'failed') state.failure ??= fromThreadFailure(reply.failure, 'prepare worker');
      else state.verdict = reply;
      changed.fire();
      changed = signal();
    };
    if (this.#failed === null) this.#worker.postMessage({ type: 'decrypt', file, job } satisfies Request);
    else state.failure = this.#failed;

    const worker = this.#worker;
    const prepared = async function* (): AsyncGenerator<PreparedRows> {
      for (;;) {
        if (state.failure !== null) throw state.failure;
        const next = queue.shift();
        if (next !== undefined) {
          worker.postMessage({ type: 'taken', rows: next.rows } satisfies Request);
          yield next;
        } else if (state.done) return;
        else await changed.promise;
      }
    };
    /** Asks the thread for its last word on the file, and frees the worker for another file. */
    const conclude = async (request: 'finish' | 'abort'): Promise<Reply> => {
      // The thread may die while this waits (a field TypeScript would take as still null after one check).
      const died = (): Error | null => this.#failed;
      if (died() !== null) throw died()!;
      state.verdict = null;
      this.#worker.postMessage({ type: request } satisfies Request);
      while (state.verdict === null) {
        await changed.promise;
        if (died() !== null) throw died()!;
      }
      this.#stream = null;
      return state.verdict;
    };
    return {
      prepared: { [Symbol.asyncIterator]: prepared },
      finish: async () => {
        const verdict = await conclude('finish');
        if (verdict.type === 'finish-failed') throw fromThreadFailure(verdict.failure, 'prepare worker');
        return { signerKeyId: verdict.type === 'finished' ? verdict.signerKeyId : null };
      },
      abort: async () => {
        await conclude('abort').catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }
}

/** A promise and the function that resolves it (Promise.withResolvers is Node 22's). */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

function addTally(tally: FileTally, t: TallyMessage): void {
  tally.totals.dataRows += t.dataRows;
  tally.totals.balance.addMinorUnits(t.balanceMinor);
  tally.totals.balanceUnreadable += t.balanceUnreadable;
  tally.totals.trailer = t.trailer;
  addDropped(tally.droppedFields, t.droppedFields);
}


// The thread's side: answers batches in turn, or parses one stream at a time.
if (!isMainThread && parentPort !== null && (workerData as PrepareWorkerData | undefined)?.policy !== undefined) {
  const { tokenKeys, currentToken, policy } = workerData as PrepareWorkerData;
  // Buffers arrive as Uint8Arrays.
  const tokeniser = new Tokeniser({
    tokenKeys: new Map([...tokenKeys].map(([version, key]) => [version, Buffer.from(key)])),
    currentToken: { version: currentToken.version, key: Buffer.from(currentToken.key) },
  });
  const port = parentPort;
  const send = (reply: Reply) => port.postMessage(reply);
  let file: FileOnThread | null = null;

  port.on('message', (request: Request) => {
    switch (request.type) {
      case 'prepare': {
        let reply: Reply;
        try {
          reply = { type: 'prepared', id: request.id, prepared: prepareBatch(request.batch, request.ctx, { policy, tokeniser }) };
        } catch (e) {
          const failure = toThreadFailure(e);
          reply = { type: 'prepare-failed', id: request.id, error: 'bug' in failure ? failure.bug : failure.code };
        }
        send(reply);
        break;
      }
      case 'decrypt':
        file = new FileOnThread(request.file, request.job, (chunk) => prepareBatch(chunk, request.job.ctx, { policy, tokeniser }), send);
        break;
      case 'taken':
        file?.taken(request.rows);
        break;
      case 'finish':
      case 'abort': {
        const concluding = file;
        file = null;
        void concluding?.conclude(request.type);
        break;
      }
    }
  });
}

/**
 * The thread's side of decryptAndPrepare: decrypts, parses and prepares one file, pausing while the
 * stager has `maxQueuedBatches` batches' worth of rows it has not taken, then gives the verdict.
 */
class FileOnThread {
  #unTaken = 0;
  #stopped = false;
  #resume: (() => void) | null = null;
  #opened: OpenedFile | null = null;
  readonly #reading: Promise<void>;

  constructor(
    file: EncryptedFileJob,
    private readonly job: StreamJob,
    private readonly prepare: (chunk: readonly RawRecord[]) => PreparedBatch,
    private readonly send: (reply: Reply) => void,
  ) {
    this.#reading = this.#read(file).catch((e: unknown) => send({ type: 'failed', failure: toThreadFailure(e) }));
  }

  taken(rows: number): void {
    this.#unTaken -= rows;
    this.#wake();
  }

  /** After the stager stopped taking (the end, or a failure on either side): the verdict, or a release. */
  async conclude(how: 'finish' | 'abort'): Promise<void> {
    this.#stopped = true;
    this.#wake();
    await this.#reading;
    if (how === 'abort') {
      await this.#opened?.abort();
      this.send({ type: 'aborted' });
      return;
    }
    try {
      if (this.#opened === null) throw new Error('finish before the file was opened');
      this.send({ type: 'finished', ...(await this.#opened.finish()) });
    } catch (e) {
      this.send({ type: 'finish-failed', failure: toThreadFailure(e) });
    }
  }

  async #read(file: EncryptedFileJob): Promise<void> {
    const { read, batchRecords } = this.job;
    this.#opened = await openPgpFile(file.spoolPath, {
      decryptionKeys: await Promise.all(file.decryptionKeys.map((binaryKey) => openpgp.readPrivateKey({ binaryKey }))),
      verificationKeys: await Promise.all(file.verificationKeys.map((binaryKey) => openpgp.readKey({ binaryKey }))),
      requireSignature: file.requireSignature,
      limits: read.limits,
    });
    const progress = { plaintextBytes: 0 };
    const tally = newFileTally();
    // Each parsed chunk is prepared and sent at once, so that its records die young on this thread;
    // the main thread gathers chunks into staging batches.
    for await (const chunk of readRecords(countBytes(this.#opened.plaintext, progress), read, tally)) {
      this.send({ type: 'batch', batch: { rows: chunk.length, prepared: this.prepare(chunk) }, plaintextBytes: progress.plaintextBytes });
      this.#unTaken += chunk.length;
      while (!this.#stopped && this.#unTaken >= maxQueuedBatches * batchRecords) await new Promise<void>((resolve) => (this.#resume = resolve));
      // Stopping early leaves the rest to finish(), which still reaches the integrity check.
      if (this.#stopped) return;
    }
    const { totals } = tally;
    this.send({ type: 'done', tally: { dataRows: totals.dataRows, balanceMinor: totals.balance.minorUnits, balanceUnreadable: totals.balanceUnreadable, trailer: totals.trailer, droppedFields: tally.droppedFields } });
  }

  #wake(): void {
    const resume = this.#resume;
    this.#resume = null;
    resume?.();
  }
}
