import type { Deps } from '../deps.js';

/**
 * This replica's share of the SFTP sources when several replicas run on one database: at most
 * ⌈sources ÷ live replicas⌉ polling leases each, so that a replica that starts later, or the
 * survivors of one that died, get sources to poll rather than standing by while one replica polls
 * them all. Liveness is a heartbeat in the store, renewed at a third of `limits.leaseTtlMs`; with
 * one replica (the embedded default) the share is every source.
 */
export class ReplicaShare {
  readonly #deps: Deps;
  readonly #sources: number;
  readonly #timer: NodeJS.Timeout;
  #maxHeld: number;
  #first: Promise<void>;

  constructor(deps: Deps, sources: number) {
    this.#deps = deps;
    this.#sources = sources;
    this.#maxHeld = sources;
    this.#first = this.#beat();
    this.#timer = setInterval(() => void this.#beat(), Math.max(250, Math.floor(deps.config.limits.leaseTtlMs / 3)));
    this.#timer.unref();
  }

  /** The most sources this replica should hold now (after the first heartbeat). */
  async maxHeld(): Promise<number> {
    await this.#first;
    return this.#maxHeld;
  }

  /** Leaves: the others' shares grow at their next heartbeat. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#deps.store.heartbeat(this.#deps.workerId, this.#deps.clock.now().getTime(), 0).catch(() => undefined);
  }

  async #beat(): Promise<void> {
    try {
      const live = await this.#deps.store.heartbeat(this.#deps.workerId, this.#deps.clock.now().getTime(), this.#deps.config.limits.leaseTtlMs);
      this.#maxHeld = Math.ceil(this.#sources / Math.max(1, live));
    } catch (err) {
      // The database is away: keep the last share; the leases themselves fence what matters.
      this.#deps.log.warn({ err }, 'replica heartbeat failed');
    }
  }
}
