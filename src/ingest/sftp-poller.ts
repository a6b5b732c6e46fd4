import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { SftpSourceConfig } from '../config/types.js';
import type { Deps } from '../deps.js';
import { GatewayError, isGatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../lib/log.js';
import { encryptBytes } from '../open/pgp-write.js';
import type { Ack } from '../pipeline/ack.js';
import { processFile } from '../pipeline/process-file.js';
import type { FileRow, SftpDelivery, SourceLease } from '../store/store.js';
import { receiveDelivery } from './receive.js';
import { ReplicaShare } from './replica-share.js';
import { SftpSession, type RemoteEntry } from './sftp-client.js';

/** What `veilgate status` and health checks show per SFTP source. */
export interface SourceStatus {
  /** 'failing' while the last cycle could not connect or list, or left a file for a retry. */
  state: 'ok' | 'failing';
  /** When the inbound folders were last listed successfully (ISO 8601), null before that. */
  lastPollAt: string | null;
  /** The code of the most recent failure (kept after recovery, for the operator), or null. */
  lastError: string | null;
  consecutiveFailures: number;
  /** Files finished (acknowledged and moved) since start. */
  filesTaken: number;
  /** Whether this replica holds the source's polling lease; false while another replica polls it. */
  polling: boolean;
}

export interface SftpPollers {
  /** Stops polling: a file in flight finishes (or, if cut short by a deadline, replays on the next start); connections are closed. */
  stop(): Promise<void>;
  status(): Record<string, SourceStatus>;
}

/**
 * Starts one independent polling loop per source that has `sftp` in the config: a failing or hung
 * source never delays another, since each has its own connection, deadlines and backoff.
 *
 * Exactly once (DESIGN §8.1): the intent to take a remote file is recorded before its download
 * (`beginSftpDelivery`), and each later step is recorded as it completes (receipt linked, ack
 * written, remote file moved), so that a crash between any two steps resumes the same delivery on the
 * next cycle; the spool and `processFile` make the processing itself replay-safe, and a file is
 * identified by its source and SHA-256, so the same bytes under another name are a duplicate.
 *
 * Replicas: a source is polled by one replica at a time, the holder of its lease in the store
 * (`acquireSourceLease`, renewed at a third of `limits.leaseTtlMs`). The others stand by and take it
 * over when it expires; each replica holds no more than its share of the sources (ReplicaShare), so
 * replicas divide the sources between them. Every delivery step is recorded under the lease's fencing token, so a holder
 * that stalled past its lease (a long GC pause, a frozen VM) cannot record anything once another
 * replica took over; what it did on the server meanwhile (an ack written, a file moved) is idempotent.
 */
export function startSftpPollers(deps: Deps, options: { onCycle?: (source: string) => void } = {}): SftpPollers {
  const sources = Object.entries(deps.config.sources).filter(([, source]) => source.sftp !== undefined);
  const share = new ReplicaShare(deps, sources.length);
  const pollers = sources.map(([id, source]) => new SourcePoller(deps, id, source.sftp!, share, options.onCycle));
  for (const poller of pollers) poller.start();
  return {
    stop: async () => {
      await Promise.all(pollers.map((p) => p.stop()));
      await share.stop();
    },
    status: () => Object.fromEntries(pollers.map((p) => [p.source, p.status()])),
  };
}

/** Names a creditor's upload tool uses while writing, markers, and our own output: never taken. */
const temporaryName = /\.(part|filepart|tmp|done)$/i;
const ackSuffix = '.ack.json.gpg';
const rejectedCsvSuffix = '.rejected.csv.gpg';

/** Thrown from the download stream to stop receiveDelivery when an earlier attempt already spooled these bytes. */
class AlreadySpooled extends Error {
  constructor(readonly receiptId: string) {
    super('already spooled');
  }
}

class SourcePoller {
  readonly #deps: Deps;
  readonly #cfg: SftpSourceConfig;
  readonly #log: Logger;
  readonly #pattern: RegExp;
  readonly #onCycle: ((source: string) => void) | undefined;
  readonly #share: ReplicaShare;
  /** settle readiness: what each remote path looked like when first seen with its current size and mtime. */
  readonly #observed = new Map<string, { sizeBytes: number; mtimeMs: number; sinceMs: number }>();
  /** When this process began each delivery (clock ms): tells a spooled earlier attempt from an older file. */
  readonly #begunAtMs = new Map<number, number>();
  readonly #status: SourceStatus = { state: 'ok', lastPollAt: null, lastError: null, consecutiveFailures: 0, filesTaken: 0, polling: false };
  /** The source's polling lease while this replica holds it. */
  #lease: SourceLease | null = null;
  #session: SftpSession | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();

  constructor(deps: Deps, readonly source: string, cfg: SftpSourceConfig, share: ReplicaShare, onCycle?: (source: string) => void) {
    this.#deps = deps;
    this.#share = share;
    this.#cfg = cfg;
    this.#log = deps.log.child({ source });
    this.#pattern = new RegExp(cfg.filePattern);
    this.#onCycle = onCycle;
  }

  start(): void {
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
  }

  status(): SourceStatus {
    return { ...this.#status };
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      let delayMs = this.#cfg.pollIntervalMs;
      try {
        const problem = await this.#cycle();
        this.#settleStatus(problem);
      } catch (err) {
        // The connection failed (or a bug): drop it, and back off exponentially before reconnecting.
        this.#session?.destroy();
        this.#session = undefined;
        this.#settleStatus(isGatewayError(err) ? err.code : 'INTERNAL');
        delayMs = this.#backoffMs();
        if (isGatewayError(err)) this.#log.warn({ err, failures: this.#status.consecutiveFailures, retryInMs: delayMs }, 'sftp poll failed');
        else this.#log.error({ err, failures: this.#status.consecutiveFailures, retryInMs: delayMs }, 'sftp poll failed with an unexpected error');
      }
      try {
        this.#onCycle?.(this.source);
      } catch (err) {
        this.#log.error({ err }, 'onCycle callback failed');
      }
      if (!this.#stopping) await this.#sleep(delayMs);
    }
    await this.#session?.end();
    this.#session = undefined;
    if (this.#lease !== null) {
      await this.#deps.store.releaseSourceLease(this.#lease).catch((err: unknown) => this.#log.warn({ err }, 'sftp source lease could not be released; it expires'));
      this.#setLease(null);
    }
  }

  /**
   * Takes or renews the source's polling lease. Null while another replica holds it, or when this
   * replica holds its share of sources already (`maxHeld`; a lease held beyond it is handed over). A
   * renewal that comes back with another token means the lease lapsed in between: whatever this
   * replica was doing is fenced off, and it starts over under the new token.
   */
  async #holdLease(maxHeld = Infinity): Promise<SourceLease | null> {
    const lease = await this.#deps.store.acquireSourceLease(this.source, this.#deps.workerId, this.#deps.clock.now().getTime(), this.#deps.config.limits.leaseTtlMs, maxHeld);
    if (lease?.token !== this.#lease?.token) {
      if (lease !== null) this.#log.info({ token: lease.token }, 'polling this sftp source');
      else if (this.#lease !== null) this.#log.info('no longer polling this sftp source: another replica polls it now');
    }
    this.#setLease(lease);
    return lease;
  }

  #setLease(lease: SourceLease | null): void {
    this.#lease = lease;
    this.#status.polling = lease !== null;
  }

  /** Renews the lease at a third of its life while a cycle runs; a slow file must not cost the source. */
  #keepLease(): { stop(): void } {
    const timer = setInterval(() => {
      this.#holdLease().catch((err: unknown) => this.#log.warn({ err }, 'sftp source lease renewal failed'));
    }, Math.max(250, Math.floor(this.#deps.config.limits.leaseTtlMs / 3)));
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  #settleStatus(problem: string | null): void {
    if (problem === null) {
      this.#status.state = 'ok';
      this.#status.consecutiveFailures = 0;
    } else {
      this.#status.state = 'failing';
      this.#status.lastError = problem;
      this.#status.consecutiveFailures += 1;
    }
  }

  /** pollIntervalMs × 2^(failures−1), capped at maxBackoffMs, less up to 20 % jitter so replicas do not reconnect in step. */
  #backoffMs(): number {
    const exponent = Math.min(this.#status.consecutiveFailures - 1, 30);
    const ms = Math.min(this.#cfg.maxBackoffMs, this.#cfg.pollIntervalMs * 2 ** exponent);
    return Math.round(ms * (1 - Math.random() * 0.2));
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  async #connect(): Promise<SftpSession> {
    if (this.#session !== undefined && !this.#session.closed) return this.#session;
    this.#session?.destroy();
    this.#session = undefined;
    const session = await SftpSession.connect(this.#cfg);
    this.#log.info({ host: this.#cfg.host, port: this.#cfg.port }, 'sftp connected');
    this.#session = session;
    return session;
  }

  /**
   * One poll: resume unfinished deliveries first, then list every inbound folder and take each ready
   * file, one at a time. Returns the code of a file-level problem (the file is retried next cycle),
   * or null; throws when the connection failed.
   */
  async #cycle(): Promise<string | null> {
    if ((await this.#holdLease(await this.#share.maxHeld())) === null) {
      // Another replica polls this source; no connection is kept meanwhile.
      await this.#session?.end();
      this.#session = undefined;
      return null;
    }
    const keeper = this.#keepLease();
    try {
      return await this.#takeAll();
    } finally {
      keeper.stop();
    }
  }

  /** Whether the cycle must end before its next file: stopping, or the lease was lost. */
  get #interrupted(): boolean {
    return this.#stopping || this.#lease === null;
  }

  /**
   * Before each new file: whether to go on. The share is checked again here, not only per cycle, so
   * that a replica which took every source before the others were up hands one over after the file
   * in hand rather than after the whole backlog.
   */
  async #mayTakeAnother(): Promise<boolean> {
    if (this.#interrupted) return false;
    return (await this.#holdLease(await this.#share.maxHeld())) !== null;
  }

  async #takeAll(): Promise<string | null> {
    const session = await this.#connect();
    const problems: string[] = [];
    const resumed = new Set<string>();
    for (const delivery of await this.#deps.store.unfinishedSftpDeliveries(this.source)) {
      if (this.#interrupted) return null;
      resumed.add(delivery.remotePath);
      await this.#guard(session, delivery.remotePath, problems, () => this.#resume(session, delivery));
    }

    const seen = new Set<string>();
    for (const inbound of this.#cfg.inbound) {
      if (this.#interrupted) return null;
      let entries: RemoteEntry[];
      try {
        entries = await session.list(inbound.dir);
      } catch (err) {
        if (session.closed || !isGatewayError(err)) throw err;
        this.#log.warn({ err, dir: inbound.dir }, 'sftp inbound folder could not be listed');
        problems.push(err.code);
        continue;
      }
      const names = new Set(entries.map((e) => e.name));
      for (const entry of entries) {
        if (entry.type !== 'file' || !this.#wanted(entry.name)) continue;
        const remotePath = posix.join(inbound.dir, entry.name);
        seen.add(remotePath);
        if (resumed.has(remotePath) || !this.#ready(remotePath, entry, names)) continue;
        if (!(await this.#mayTakeAnother())) return null;
        await this.#guard(session, remotePath, problems, async () => {
          const delivery = await this.#deps.store.beginSftpDelivery({
            source: this.source, remotePath, kind: inbound.kind, sizeBytes: entry.sizeBytes, mtimeMs: entry.mtimeMs,
          }, this.#fence());
          if (!this.#begunAtMs.has(delivery.id)) this.#begunAtMs.set(delivery.id, this.#deps.clock.now().getTime());
          await this.#take(session, delivery);
        });
      }
    }
    for (const path of this.#observed.keys()) if (!seen.has(path)) this.#observed.delete(path);
    this.#status.lastPollAt = this.#deps.clock.now().toISOString();
    return problems.length > 0 ? problems[problems.length - 1]! : null;
  }

  /** Runs one file's work; a file-level failure is logged and left for the next cycle, a broken connection ends the cycle. */
  async #guard(session: SftpSession, remotePath: string, problems: string[], work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (session.closed) throw err;
      const remoteName = posix.basename(remotePath);
      if (isGatewayError(err, 'SFTP_LEASE_LOST')) {
        // Another replica took the source over (this one stalled past its lease); it resumes the delivery.
        this.#log.warn({ remoteName }, 'sftp source lease lost mid-delivery; the new holder resumes it');
        this.#setLease(null);
        return;
      }
      if (isGatewayError(err, 'PIPELINE_BUSY')) {
        // Another worker (the recovery loop, another replica) is processing its receipt right now: not a failure.
        this.#log.info({ remoteName }, 'sftp file is being processed by another worker; taken next cycle');
        return;
      }
      if (isGatewayError(err)) this.#log.warn({ err, remoteName }, 'sftp file left for the next cycle');
      else this.#log.error({ err, remoteName }, 'sftp file failed with an unexpected error; left for the next cycle');
      problems.push(isGatewayError(err) ? err.code : 'INTERNAL');
    }
  }

  /** The lease every delivery step is recorded under. @throws GatewayError SFTP_LEASE_LOST when it was lost */
  #fence(): SourceLease {
    if (this.#lease === null) throw new GatewayError('SFTP_LEASE_LOST', { source: this.source });
    return this.#lease;
  }

  #wanted(name: string): boolean {
    if (name.startsWith('.') || temporaryName.test(name)) return false;
    // Our own output, should an ack folder be configured as the inbound folder itself.
    if (name.endsWith(ackSuffix) || name.endsWith(rejectedCsvSuffix)) return false;
    return this.#pattern.test(name);
  }

  /**
   * 'marker': `<name>.done` exists. 'settle': the size and mtime are those seen at least settleMs
   * ago, so a file first seen is never taken in the same cycle (unless settleMs is 0). An empty file
   * is never ready: it is a placeholder, or a transfer that has not started.
   */
  #ready(remotePath: string, entry: RemoteEntry, names: ReadonlySet<string>): boolean {
    if (entry.sizeBytes === 0) return false;
    if (this.#cfg.readiness === 'marker') return names.has(`${entry.name}.done`);
    const nowMs = this.#deps.clock.now().getTime();
    const seen = this.#observed.get(remotePath);
    if (seen === undefined || seen.sizeBytes !== entry.sizeBytes || seen.mtimeMs !== entry.mtimeMs) {
      this.#observed.set(remotePath, { sizeBytes: entry.sizeBytes, mtimeMs: entry.mtimeMs, sinceMs: nowMs });
      return this.#cfg.settleMs === 0;
    }
    return nowMs - seen.sinceMs >= this.#cfg.settleMs;
  }

  /** An unfinished delivery from an earlier cycle or run: carry on from its last recorded step. */
  async #resume(session: SftpSession, delivery: SftpDelivery): Promise<void> {
    if (delivery.receiptId === null) {
      // Nothing of it was recorded as received: it is still the creditor's file, if it is still the same file.
      const now = await session.stat(delivery.remotePath);
      if (now === null || now.sizeBytes !== delivery.sizeBytes || now.mtimeMs !== delivery.mtimeMs) {
        this.#log.warn({ deliveryId: delivery.id, remoteName: posix.basename(delivery.remotePath), reason: now === null ? 'gone' : 'changed' },
          'sftp file changed or went away before it was taken; a changed file is taken as a new delivery');
        await this.#deps.store.finishSftpDelivery(delivery.id, this.#fence());
        this.#begunAtMs.delete(delivery.id);
        return;
      }
    }
    await this.#take(session, delivery);
  }

  /** receive → process → ack → move → finish, skipping the steps a previous attempt recorded as done. */
  async #take(session: SftpSession, delivery: SftpDelivery): Promise<void> {
    const name = posix.basename(delivery.remotePath);
    const log = this.#log.child({ deliveryId: delivery.id, remoteName: name });
    // Durations of the steps (ms), for the operator's log: where the time of a slow intake goes.
    const took = { receiveMs: 0, processMs: 0, ackMs: 0, moveMs: 0 };
    let mark = performance.now();
    const lap = (step: keyof typeof took) => {
      const now = performance.now();
      took[step] = Math.round(now - mark);
      mark = now;
    };
    let receiptId = delivery.receiptId;
    if (receiptId === null) {
      if (delivery.sizeBytes > this.#deps.config.limits.maxFileBytes) {
        // Never downloaded: it could not be spooled. It goes to the rejected folder without an ack (there is no receipt to acknowledge).
        log.warn({ code: 'SPOOL_TOO_LARGE', sizeBytes: delivery.sizeBytes, maxFileBytes: this.#deps.config.limits.maxFileBytes }, 'sftp file too large; moved to the rejected folder');
        await this.#moveAway(session, delivery, this.#cfg.rejectedDir, `d${delivery.id}`, log);
        await this.#deps.store.finishSftpDelivery(delivery.id, this.#fence());
        return;
      }
      receiptId = await this.#receive(session, delivery, log);
      if (receiptId === null) return;
      await this.#deps.store.linkSftpDelivery(delivery.id, receiptId, this.#fence());
    }
    lap('receiveMs');
    const ack = await processFile(this.#deps, receiptId);
    lap('processMs');
    if (!delivery.ackWritten) {
      await this.#writeAck(session, delivery, ack, log);
      await this.#deps.store.markSftpAckWritten(delivery.id, this.#fence());
    }
    lap('ackMs');
    await this.#moveAway(session, delivery, ack.status === 'rejected' ? this.#cfg.rejectedDir : this.#cfg.processedDir, ack.receipt_id, log);
    await this.#deps.store.finishSftpDelivery(delivery.id, this.#fence());
    lap('moveMs');
    this.#begunAtMs.delete(delivery.id);
    this.#status.filesTaken += 1;
    log.info({ receiptId, status: ack.status, sizeBytes: delivery.sizeBytes, ...took }, 'sftp file taken');
  }

  /**
   * Downloads into the spool (receiveDelivery), hashing on the way. Before the receipt is recorded,
   * a crash-left copy is looked for: if an earlier attempt of this delivery spooled and recorded the
   * same bytes but died before linking them, that receipt is linked instead of recording a duplicate.
   * Returns the receipt to link, or null when the delivery waits for the next cycle.
   */
  async #receive(session: SftpSession, delivery: SftpDelivery, log: Logger): Promise<string | null> {
    const name = posix.basename(delivery.remotePath);
    const { store } = this.#deps;
    const begunAtMs = this.#begunAtMs.get(delivery.id);
    const source = this.source;
    const hash = createHash('sha256');
    async function* bytes(): AsyncGenerator<Uint8Array> {
      for await (const chunk of session.download(delivery.remotePath, delivery)) {
        hash.update(chunk);
        yield chunk;
      }
      // The download checked the size and mtime; now, before receiveDelivery records anything:
      const live = await store.findLiveFile(source, hash.digest('hex'));
      if (live !== null && isEarlierAttempt(live, delivery, name, begunAtMs)) throw new AlreadySpooled(live.receiptId);
    }
    let receipt: Awaited<ReturnType<typeof receiveDelivery>>;
    try {
      receipt = await receiveDelivery(this.#deps, { source, kind: delivery.kind, channel: 'sftp', fileName: name, bytes: bytes() });
    } catch (err) {
      if (!(err instanceof AlreadySpooled)) throw err;
      log.info({ receiptId: err.receiptId }, 'sftp file was spooled by an earlier attempt; linking that receipt');
      return err.receiptId;
    }
    if (receipt.outcome === 'duplicate') return receipt.receiptId;
    const file = await store.getFile(receipt.receiptId);
    if (file !== null && (file.channel !== 'sftp' || file.fileName !== name)) {
      // The same bytes are in progress under another name or channel. Let that file finish first;
      // this delivery is downloaded again next cycle and then acknowledged as its duplicate.
      log.info({ inProgress: receipt.receiptId }, 'same bytes in progress from another delivery; taken next cycle');
      await processFile(this.#deps, receipt.receiptId).catch((err: unknown) => {
        if (!isGatewayError(err, 'PIPELINE_BUSY')) throw err;
      });
      return null;
    }
    return receipt.receiptId;
  }

  /** The ack (and the CSV of rejected records when there are any), encrypted to the source and signed by the gateway. */
  async #writeAck(session: SftpSession, delivery: SftpDelivery, ack: Ack, log: Logger): Promise<void> {
    const name = posix.basename(delivery.remotePath);
    const ackDir = resolveDir(posix.dirname(delivery.remotePath), this.#cfg.ackDir);
    const encryptionKeys = this.#deps.keys.sourcePgpKeys.get(this.source) ?? [];
    const signingKey = this.#deps.keys.pgpPrivateKeys[0];
    if (encryptionKeys.length === 0 || signingKey === undefined) throw new Error(`source ${this.source} has no OpenPGP key to encrypt its acks to, or the gateway has no signing key`);
    const seal = (text: string) => encryptBytes(new TextEncoder().encode(text), { encryptionKeys, signingKeys: [signingKey] });
    await session.ensureDir(ackDir);
    if (ack.errors.length > 0) {
      await this.#putOnce(session, delivery, ackDir, name, rejectedCsvSuffix, ack.receipt_id, () => seal(rejectedRecordsCsv(ack)), log);
    }
    // Written last: its presence tells the creditor that everything about the file is there.
    await this.#putOnce(session, delivery, ackDir, name, ackSuffix, ack.receipt_id, () => seal(`${JSON.stringify(ack, null, 2)}\n`), log);
  }

  /**
   * Writes `<name><suffix>` through a temp name and a rename, so the creditor never sees half a file.
   * SFTP v3 rename never overwrites: if the name is taken, the file there is ours when it is newer
   * than the delivered file (written before a crash, ahead of markSftpAckWritten): keep it. Otherwise
   * it is the ack of an earlier file of the same name that the creditor has not collected; it is left
   * alone and this ack goes to `<name>.<receiptId><suffix>`. (SFTP v3 mtimes have whole seconds; both
   * are the server's, so no clocks need to agree.)
   */
  async #putOnce(session: SftpSession, delivery: SftpDelivery, dir: string, name: string, suffix: string, receiptId: string, make: () => Promise<Uint8Array>, log: Logger): Promise<void> {
    const primary = posix.join(dir, `${name}${suffix}`);
    const temp = posix.join(dir, `.${name}${suffix}.part`);
    await session.writeFile(temp, await make());
    const placed = await session.rename(temp, primary).then(() => true, (err: unknown) => {
      if (session.closed) throw err;
      return false;
    });
    if (placed) {
      log.info({ ackName: posix.basename(primary) }, 'sftp ack written');
      return;
    }
    const existing = await session.stat(primary);
    if (existing === null) {
      // The rename failed for another reason: once more, to succeed or to say why.
      await session.rename(temp, primary);
      log.info({ ackName: posix.basename(primary) }, 'sftp ack written');
      return;
    }
    const alternate = posix.join(dir, `${name}.${receiptId}${suffix}`);
    if (existing.mtimeMs > delivery.mtimeMs || (await session.stat(alternate)) !== null) {
      await session.remove(temp);
      return;
    }
    await session.rename(temp, alternate);
    log.info({ ackName: posix.basename(alternate) }, 'sftp ack written');
  }

  /**
   * Moves the delivered file into `targetDir` (created if needed). Idempotent: when the file is no
   * longer there with its delivered size and mtime, it was moved already (or replaced by the
   * creditor, whose new file is a new delivery). A name already taken in the target folder gets the
   * receipt id appended, so that an earlier file of the same name is never overwritten.
   */
  async #moveAway(session: SftpSession, delivery: SftpDelivery, targetDirCfg: string, uniqueSuffix: string, log: Logger): Promise<void> {
    const name = posix.basename(delivery.remotePath);
    const targetDir = resolveDir(posix.dirname(delivery.remotePath), targetDirCfg);
    // The marker first: a marker left behind without its file would make a later upload of the same name look finished.
    if (this.#cfg.readiness === 'marker') await this.#moveMarker(session, delivery.remotePath, targetDir, log);
    const now = await session.stat(delivery.remotePath);
    if (now === null || now.type !== 'file' || now.sizeBytes !== delivery.sizeBytes || now.mtimeMs !== delivery.mtimeMs) {
      log.debug('sftp file already moved');
      return;
    }
    await session.ensureDir(targetDir);
    const target = posix.join(targetDir, name);
    try {
      await session.rename(delivery.remotePath, target);
    } catch (err) {
      if (session.closed || (await session.stat(target)) === null) throw err;
      await session.rename(delivery.remotePath, posix.join(targetDir, `${name}.${uniqueSuffix}`));
    }
    log.debug({ targetDir }, 'sftp file moved');
  }

  async #moveMarker(session: SftpSession, remotePath: string, targetDir: string, log: Logger): Promise<void> {
    const marker = `${remotePath}.done`;
    try {
      if ((await session.stat(marker)) === null) return;
      await session.ensureDir(targetDir);
      await session.rename(marker, posix.join(targetDir, posix.basename(marker))).catch(async (err: unknown) => {
        if (session.closed) throw err;
        await session.remove(marker);
      });
    } catch (err) {
      if (session.closed) throw err;
      log.warn({ err }, 'sftp marker could not be moved or removed');
    }
  }
}

/** A folder from the config: absolute, or relative to the inbound folder. */
function resolveDir(inboundDir: string, configured: string): string {
  return posix.isAbsolute(configured) ? posix.normalize(configured) : posix.join(inboundDir, configured);
}

/**
 * Whether a live file with the bytes just downloaded is this delivery's own, spooled by an attempt
 * that died before linking it (rather than an earlier delivery of the same name and bytes, which
 * makes this one a duplicate). Received after this delivery began (clock of this process), or, after
 * a restart, after the remote file's last modification (the server's clock: a few seconds of skew are
 * covered by the settle time).
 */
function isEarlierAttempt(live: FileRow, delivery: SftpDelivery, name: string, begunAtMs: number | undefined): boolean {
  if (live.channel !== 'sftp' || live.fileName !== name || live.kind !== delivery.kind) return false;
  return Date.parse(live.receivedAt) >= (begunAtMs ?? delivery.mtimeMs);
}

/** The CSV of rejected records that goes with an ack: positions, field names and codes, never a value from the file. */
function rejectedRecordsCsv(ack: Ack): string {
  const rows = [['record', 'field', 'code', 'message'], ...ack.errors.map((e) => [String(e.record), e.field ?? '', e.code, e.message])];
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

