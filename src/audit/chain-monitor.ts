import type { Store } from '../store/store.js';
import { genesisHash, verifyChain } from './chain.js';

export type ChainState =
  | { ok: true; verifiedSeq: number; head: { seq: number; hash: string }; checkpoints: number; checkedAt: string; checkpoint: { seq: number; at: string } | null }
  | { ok: false; firstBadSeq: number; reason: string; checkedAt: string; checkpoint: { seq: number; at: string } | null };

/**
 * Verifies the audit chain in the database incrementally (the dashboard, `veilgate audit verify`): the
 * first call checks every entry, later
 * calls only what was appended since (and that the last verified entry is unchanged), plus every
 * checkpoint against the entry it signed.
 */
export class ChainMonitor {
  #verified = { seq: 0, hash: genesisHash };
  #checkpointsChecked = 0;
  #checkpointsVerified = 0;

  async check(store: Store, now: string): Promise<ChainState> {
    const latest = await store.latestCheckpoint();
    const checkpoint = latest === null ? null : { seq: latest.seq, at: latest.at };
    if (this.#verified.seq > 0) {
      const [last] = await store.readAudit(this.#verified.seq, this.#verified.seq);
      if (last?.hash !== this.#verified.hash) return this.#fail(this.#verified.seq, 'an entry verified earlier has changed', now, checkpoint);
    }
    const head = await store.auditHead();
    for (let from = this.#verified.seq + 1; from <= head.seq; from += 10_000) {
      const result = verifyChain(await store.readAudit(from, Math.min(head.seq, from + 9_999)), this.#verified);
      if (!result.ok) return this.#fail(result.firstBadSeq, result.reason, now, checkpoint);
      this.#verified = result.head;
    }
    if (this.#verified.seq !== head.seq) return this.#fail(this.#verified.seq + 1, 'entry missing', now, checkpoint);
    for (const c of await store.listCheckpoints(this.#checkpointsChecked + 1, this.#verified.seq)) {
      const [entry] = await store.readAudit(c.seq, c.seq);
      if (entry?.hash !== c.hash) return this.#fail(c.seq, 'the entry differs from the signed checkpoint at its sequence number', now, checkpoint);
      this.#checkpointsChecked = c.seq;
      this.#checkpointsVerified++;
    }
    return { ok: true, verifiedSeq: this.#verified.seq, head: this.#verified, checkpoints: this.#checkpointsVerified, checkedAt: now, checkpoint };
  }

  #fail(firstBadSeq: number, reason: string, checkedAt: string, checkpoint: { seq: number; at: string } | null): ChainState {
    // Start over next time: a broken chain is re-examined from the beginning.
    this.#verified = { seq: 0, hash: genesisHash };
    this.#checkpointsChecked = 0;
    this.#checkpointsVerified = 0;
    return { ok: false, firstBadSeq, reason, checkedAt, checkpoint };
  }
}
