import type { NextFunction, Request, Response } from 'express';
import type { Store } from '../store/store.js';
import { routePattern } from './error-handler.js';
import type { Ack } from '../pipeline/ack.js';

/** Histogram buckets for request latency, in seconds. */
const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * How late the event loop ran: a long synchronous step (a large SQLite statement, a big JSON body)
 * shows here before callers time out. A timer of its own rather than perf_hooks'
 * monitorEventLoopDelay, whose reset loses a stall that ended just before the scrape (measured).
 */
class LoopStalls {
  static readonly tickMs = 10;
  #last = performance.now();
  #max = 0;

  constructor() {
    // Does not keep the process alive.
    setInterval(() => this.#tick(), LoopStalls.tickMs).unref();
  }

  /** The longest stall since the last call, in seconds, counting one that ends with this call. */
  takeMaxSeconds(): number {
    this.#tick();
    const max = this.#max;
    this.#max = 0;
    return max / 1000;
  }

  #tick(): void {
    const now = performance.now();
    this.#max = Math.max(this.#max, now - this.#last - LoopStalls.tickMs);
    this.#last = now;
  }
}

/** One sampler per process, however many apps it holds (tests). */
let loopStalls: LoopStalls | null = null;

/**
 * Prometheus metrics in the text exposition format, kept by hand: a few counters and one histogram
 * do not need a client library. Labels carry source ids, kinds, states and route patterns only:
 * never a value, never a raw URL (which could hold a token).
 */
export class Metrics {
  readonly #records = new Map<string, number>();
  readonly #latency = new Map<string, { buckets: number[]; sum: number; count: number }>();

  constructor() {
    loopStalls ??= new LoopStalls();
  }

  /** Counts an acknowledgement's records by outcome (accepted, rejected). */
  recordAck(ack: Ack): void {
    if (ack.status === 'duplicate') return;
    this.#add(this.#records, `source="${ack.source}",kind="${ack.kind}",outcome="accepted"`, ack.counts.accepted);
    this.#add(this.#records, `source="${ack.source}",kind="${ack.kind}",outcome="rejected"`, ack.counts.rejected);
  }

  /** Express middleware timing every request by its route pattern. */
  timer() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const started = process.hrtime.bigint();
      res.on('finish', () => {
        const route = routePattern(req);
        const key = `method="${req.method}",route="${route}",status="${res.statusCode}"`;
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const h = this.#latency.get(key) ?? { buckets: latencyBuckets.map(() => 0), sum: 0, count: 0 };
        latencyBuckets.forEach((b, i) => { if (seconds <= b) h.buckets[i]!++; });
        h.sum += seconds;
        h.count++;
        this.#latency.set(key, h);
      });
      next();
    };
  }

  /** The exposition text; file counts come from the database, so they hold across restarts and replicas. */
  async render(store: Store, overdueRecalls?: () => Promise<Array<{ recipient: string; count: number }>>): Promise<string> {
    const lines: string[] = [];
    if (overdueRecalls !== undefined) {
      lines.push('# HELP veilgate_recalls_unacknowledged Recall events a recipient has not acknowledged within release.recallAckHours.', '# TYPE veilgate_recalls_unacknowledged gauge');
      for (const r of await overdueRecalls()) lines.push(`veilgate_recalls_unacknowledged{recipient="${r.recipient}"} ${r.count}`);
    }
    lines.push('# HELP veilgate_files Files by source and state (from the database).', '# TYPE veilgate_files gauge');
    for (const row of await store.fileCounts()) lines.push(`veilgate_files{source="${row.source}",state="${row.state}"} ${row.count}`);
    lines.push('# HELP veilgate_records_total Records processed by this process, by source, kind and outcome.', '# TYPE veilgate_records_total counter');
    for (const [labels, n] of this.#records) lines.push(`veilgate_records_total{${labels}} ${n}`);
    lines.push('# HELP veilgate_http_request_duration_seconds HTTP request latency by route.', '# TYPE veilgate_http_request_duration_seconds histogram');
    for (const [labels, h] of this.#latency) {
      latencyBuckets.forEach((b, i) => lines.push(`veilgate_http_request_duration_seconds_bucket{${labels},le="${b}"} ${h.buckets[i]}`));
      lines.push(`veilgate_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${h.count}`);
      lines.push(`veilgate_http_request_duration_seconds_sum{${labels}} ${h.sum}`, `veilgate_http_request_duration_seconds_count{${labels}} ${h.count}`);
    }
    // Since the last scrape: a stall between two scrapes is not averaged away.
    lines.push('# HELP veilgate_event_loop_delay_max_seconds Longest event loop stall since the last scrape.', '# TYPE veilgate_event_loop_delay_max_seconds gauge');
    lines.push(`veilgate_event_loop_delay_max_seconds ${loopStalls!.takeMaxSeconds().toFixed(3)}`);
    return lines.join('\n') + '\n';
  }

  #add(map: Map<string, number>, key: string, n: number): void {
    map.set(key, (map.get(key) ?? 0) + n);
  }
}
