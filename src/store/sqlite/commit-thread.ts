import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { fromThreadFailure, toThreadFailure, type ThreadFailure } from '../../errors/thread-failure.js';
import { threadOf } from '../../lib/thread-entry.js';
// A cycle (sqlite-store.ts makes CommitThreads): each module uses the other only after both have loaded.
import { SqliteStore } from './sqlite-store.js';

/**
 * The store calls that close a file, each one statement or transaction over all its staged rows:
 * seconds each for a large file (the commit 17 s at 1,000,000 records here, finding its subject key
 * conflicts 1.3 s).
 */
export type ClosingCalls = Pick<SqliteStore, 'commitFile' | 'rejectFile' | 'rejectDuplicateAccounts' | 'subjectKeyConflicts' | 'recordsOfSubjects' | 'settleSubjectKeys'>;
export type ClosingCall = keyof ClosingCalls;

interface CommitThreadData {
  readonly commitThread: { readonly file: string; readonly busyTimeoutMs: number };
}

type Request = { id: number; call: ClosingCall; args: unknown[]; atMs: number };
type Reply = { id: number; result: unknown } | { id: number; failure: ThreadFailure };

/**
 * Large files' closing calls on a thread of their own, with its own connection to the database.
 * better-sqlite3 is synchronous: on the main thread those calls would stall the event loop, and the
 * API and health endpoints with it, for seconds at a time. The calls are the same code (the thread's
 * own SqliteStore), so atomicity, fencing and the audit chain are unchanged; the main store holds
 * back its writes while one runs, so that they do not wait on SQLite's lock with the loop blocked.
 */
export class CommitThread {
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  #nextId = 0;
  #failed: Error | null = null;

  constructor(file: string, busyTimeoutMs: number) {
    this.#worker = threadOf(import.meta.url, {
      workerData: { commitThread: { file, busyTimeoutMs } } satisfies CommitThreadData,
      // Its live data is one call's arguments and rows; SQLite's page cache is outside the heap.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    // Idle, it does not keep the process alive.
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const waiter = this.#waiting.get(reply.id)!;
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) this.#worker.unref();
      if ('result' in reply) waiter.resolve(asBuffers(reply.result));
      else waiter.reject(fromThreadFailure(reply.failure, 'commit thread'));
    });
    const fail = (error: Error) => {
      this.#failed ??= error;
      for (const waiter of this.#waiting.values()) waiter.reject(this.#failed);
      this.#waiting.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`commit thread exited (${code})`)));
  }

  /**
   * Runs `call` on the thread's store; `atMs` is the time its audit entry (if any) gets.
   * @throws what the call throws, or an Error if the thread died (its transaction then rolled back).
   */
  run<K extends ClosingCall>(call: K, args: Parameters<ClosingCalls[K]>, atMs: number): ReturnType<ClosingCalls[K]> {
    if (this.#failed !== null) return Promise.reject(this.#failed) as ReturnType<ClosingCalls[K]>;
    const id = this.#nextId++;
    return new Promise<unknown>((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage({ id, call, args, atMs } satisfies Request);
    }) as ReturnType<ClosingCalls[K]>;
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

/**
 * Buffers cross threads as plain Uint8Arrays: this makes them Buffers again (views, not copies),
 * in arrays, maps and objects, as the store's callers and better-sqlite3 expect.
 */
function asBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(asBuffers);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, asBuffers(v)]));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, asBuffers(v)]));
  return value;
}

// The thread's side: one connection, calls in turn.
if (!isMainThread && parentPort !== null && (workerData as Partial<CommitThreadData> | undefined)?.commitThread !== undefined) {
  const { file, busyTimeoutMs } = (workerData as CommitThreadData).commitThread;
  const port = parentPort;
  let atMs = 0;
  // Infinity: this store runs its calls here, on the thread they were sent to.
  const store = SqliteStore.open(file, { clock: { now: () => new Date(atMs) }, busyTimeoutMs, commitOnThreadFromRows: Infinity, pageCacheMiB: 8 });
  port.on('message', ({ id, call, args, atMs: at }: Request) => {
    atMs = at;
    (store[call] as (...a: unknown[]) => Promise<unknown>).apply(store, asBuffers(args) as unknown[]).then(
      (result) => port.postMessage({ id, result } satisfies Reply),
      (e: unknown) => port.postMessage({ id, failure: toThreadFailure(e) } satisfies Reply),
    );
  });
}
