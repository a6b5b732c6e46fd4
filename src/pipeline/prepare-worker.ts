import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { FileErrorCode } from '../errors/codes.js';
import { GatewayError, isGatewayError, type SafeDetails } from '../errors/gateway-error.js';
import type { KeyRing } from '../keys/keyring.js';
import type { MinimisationPolicy } from '../minimise/policy.js';
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

/** A plaintext stream to parse and prepare on the thread. */
export interface StreamJob {
  readonly read: ReadRecordsOptions;
  /** The staging batch size: prepared rows waiting on the main thread are bounded in batches. */
  readonly batchRecords: number;
  readonly ctx: PrepareContext;
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

/** A failure as it crosses: a file-level GatewayError keeps its code and safe details; anything else is a bug. */
type Failure = { code: FileErrorCode; details?: SafeDetails } | { bug: string };

type Request =
  | { type: 'prepare'; id: number; batch: readonly RawRecord[]; ctx: PrepareContext }
  | { type: 'open'; job: StreamJob }
  | { type: 'chunk'; bytes: Uint8Array }
  | { type: 'end' };
type Reply =
  | { type: 'prepared'; id: number; prepared: PreparedBatch }
  | { type: 'prepare-failed'; id: number; error: string }
  | { type: 'took'; bytes: number }
  | { type: 'batch'; batch: PreparedRows }
  | { type: 'done'; tally: TallyMessage }
  | { type: 'failed'; failure: Failure };

/**
 * Decrypted bytes sent to the thread and not yet taken by its parser. With at most this much in
 * flight and `maxQueuedBatches` batches' worth of prepared rows waiting here, the thread runs ahead
 * of the writes by a bounded amount of memory whatever the file's size.
 */
const maxBytesInFlight = 1 << 20;
const maxQueuedBatches = 2;

/**
 * Parsing, validation, minimisation and tokenising on a worker thread, beside the main thread's
 * decryption, sealing and store writes. Only computation moves: every store call stays on the main
 * thread, in the same order and transactions, so crash safety is unchanged. Sealing stays on the
 * main thread: it needs the store's accounts and subject keys.
 *
 * Two uses: `parseAndPrepare` takes a whole decrypted stream (files), so that records are made, and
 * collected, on the thread that reads them and only their prepared strings cross; `prepare` takes
 * batches of records already read (JOSE bodies, which are parsed whole). Answers come in order.
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
    // From the TypeScript sources (tests), the thread registers tsx before it loads this same module.
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = fromSource
      ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(import.meta.url)}); })`
      : new URL(import.meta.url);
    this.#worker = new Worker(entry, {
      eval: fromSource,
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
   * Sends `plaintext` to the thread as it is read and yields its prepared chunks in file order (a few
   * dozen rows each: `gathered` makes staging batches of them). When the stream ends, the thread's
   * control totals and dropped columns are added to `tally`.
   * @throws GatewayError what readRecords throws (PARSE_*, FILE_TRAILER_INVALID), and whatever reading
   *   `plaintext` throws (OPEN_*), as they happen.
   */
  async *parseAndPrepare(plaintext: AsyncIterable<Uint8Array>, job: StreamJob, tally: FileTally): AsyncGenerator<PreparedRows> {
    if (this.#failed !== null) throw this.#failed;
    if (this.#stream !== null) throw new Error('prepare worker: one stream at a time');
    /** Prepared chunks not yet handed on. */
    const queue: PreparedRows[] = [];
    // Changed from the callbacks below, so one object rather than narrowed locals. queuedRows: the
    // data rows of the chunks in `queue`.
    const state = { inFlight: 0, queuedRows: 0, done: false, stopped: false, failure: null as Error | null };
    // Both sides below wait for "something changed": a reply, a batch taken, a stop.
    let changed = signal();
    const notify = () => {
      changed.fire();
      changed = signal();
    };
    this.#stream = (reply) => {
      if (reply.type === 'took') state.inFlight -= reply.bytes;
      else if (reply.type === 'batch') {
        queue.push(reply.batch);
        state.queuedRows += reply.batch.rows;
      } else if (reply.type === 'done') {
        addTally(tally, reply.tally);
        state.done = true;
      } else if (reply.type === 'failed') state.failure ??= asError(reply.failure);
      notify();
    };
    this.#worker.postMessage({ type: 'open', job } satisfies Request);

    const pumping = (async () => {
      try {
        for await (const chunk of plaintext) {
          while (!state.stopped && state.failure === null && (state.inFlight >= maxBytesInFlight || state.queuedRows >= maxQueuedBatches * job.batchRecords)) await changed.promise;
          if (state.stopped || state.failure !== null) return;
          // A copy of its own, moved: the chunk may be a view into a larger buffer, all of which
          // structured cloning would copy.
          const bytes = new Uint8Array(chunk);
          state.inFlight += bytes.length;
          this.#worker.postMessage({ type: 'chunk', bytes } satisfies Request, [bytes.buffer]);
        }
        this.#worker.postMessage({ type: 'end' } satisfies Request);
      } catch (e) {
        state.failure ??= e instanceof Error ? e : new Error('prepare worker: the plaintext stream failed');
        notify();
      }
    })();

    try {
      for (;;) {
        if (state.failure !== null) throw state.failure;
        const next = queue.shift();
        if (next !== undefined) {
          state.queuedRows -= next.rows;
          notify(); // room for the pump
          yield next;
        } else if (state.done) break;
        else await changed.promise;
      }
    } finally {
      state.stopped = true;
      notify();
      await pumping;
      this.#stream = null;
    }
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

function asError(failure: Failure): Error {
  return 'code' in failure ? new GatewayError(failure.code, failure.details) : new Error(`prepare worker: ${failure.bug}`);
}

function toFailure(e: unknown): Failure {
  if (isGatewayError(e)) return e.details === undefined ? { code: e.code } : { code: e.code, details: e.details };
  // A bug, not a record problem (those are findings): the message names the error, never a value.
  return { bug: e instanceof Error ? `${e.name}: ${e.message}` : 'unknown error' };
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

  // The stream's chunks as they arrive; the parser pulls them from here.
  const chunks: Uint8Array[] = [];
  let ended = false;
  let arrived: (() => void) | null = null;
  async function* incoming(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = chunks.shift();
      if (chunk !== undefined) {
        send({ type: 'took', bytes: chunk.length });
        yield chunk;
      } else if (ended) return;
      else await new Promise<void>((resolve) => (arrived = resolve));
    }
  }

  const parseStream = async ({ read, ctx }: StreamJob) => {
    const tally = newFileTally();
    try {
      // Each parsed chunk is prepared and sent at once, so that its records die young on this thread;
      // the main thread gathers chunks into staging batches.
      for await (const chunk of readRecords(incoming(), read, tally)) {
        send({ type: 'batch', batch: { rows: chunk.length, prepared: prepareBatch(chunk, ctx, { policy, tokeniser }) } });
      }
      const { totals } = tally;
      send({ type: 'done', tally: { dataRows: totals.dataRows, balanceMinor: totals.balance.minorUnits, balanceUnreadable: totals.balanceUnreadable, trailer: totals.trailer, droppedFields: tally.droppedFields } });
    } catch (e) {
      send({ type: 'failed', failure: toFailure(e) });
    }
  };

  port.on('message', (request: Request) => {
    switch (request.type) {
      case 'prepare': {
        let reply: Reply;
        try {
          reply = { type: 'prepared', id: request.id, prepared: prepareBatch(request.batch, request.ctx, { policy, tokeniser }) };
        } catch (e) {
          const failure = toFailure(e);
          reply = { type: 'prepare-failed', id: request.id, error: 'bug' in failure ? failure.bug : failure.code };
        }
        send(reply);
        break;
      }
      case 'open':
        chunks.length = 0;
        ended = false;
        void parseStream(request.job);
        break;
      case 'chunk':
        chunks.push(request.bytes);
        break;
      case 'end':
        ended = true;
        break;
    }
    if (request.type === 'chunk' || request.type === 'end') {
      const wake = arrived;
      arrived = null;
      wake?.();
    }
  });
}
