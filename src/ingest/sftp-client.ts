import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import SftpClient from 'ssh2-sftp-client';
import type { Client as SshClient, SFTPWrapper, Stats } from 'ssh2';
import type { SftpSourceConfig } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';

/** One entry of a remote folder, or the attributes of one remote path. */
export interface RemoteEntry {
  name: string;
  type: 'file' | 'dir' | 'link' | 'other';
  sizeBytes: number;
  /** SFTP v3 carries whole seconds: always a multiple of 1000. */
  mtimeMs: number;
}

/**
 * Largest READ request we send. OpenSSH's sftp-server announces its limit (`limits@openssh.com`,
 * 255 KiB in OpenSSH 9); ssh2 reads it at session start, and otherwise assumes 32 KiB-ish packets.
 * Measured against OpenSSH 9.2 on loopback (bench/sftp.ts), where the Node client's CPU is the limit:
 * 255 KiB requests gave about 1.3× the throughput of 64 KiB ones. Memory per download is at most
 * downloadConcurrency × this.
 */
export const maxReadChunkBytes = 255 * 1024;
/** Used when the server announced nothing and ssh2 does not know better (RFC draft-02 servers must accept 32 KiB). */
const fallbackReadChunkBytes = 32 * 1024;

/** SSH keepalives unanswered before the connection is declared dead. */
const keepaliveCountMax = 3;

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7) that we tell apart. */
const status = { noSuchFile: 2, permissionDenied: 3 } as const;

/**
 * A connection to one creditor's SFTP server over ssh2-sftp-client, with the guarantees the poller
 * needs: the host key is pinned (never "accept anyway"); every call has a deadline after which the
 * whole connection is destroyed (a hung server must not hang the gateway, and a call that was cut off
 * leaves the session in an unknown state); downloads are pipelined and size-checked.
 *
 * Errors are GatewayErrors: SFTP_HOST_KEY_MISMATCH, SFTP_TIMEOUT, SFTP_SIZE_MISMATCH, and
 * SFTP_UNAVAILABLE with `details.reason` (`connection_lost`, `refused`, `no_such_file`,
 * `permission_denied`, `failed`). After an error, `closed` says whether the connection is still usable.
 */
export class SftpSession {
  readonly #client: SftpClient;
  readonly #sftp: SFTPWrapper;
  readonly #timeoutMs: number;
  readonly #concurrency: number;
  readonly #chunkBytes: number;
  readonly #knownDirs = new Set<string>();
  #closed = false;

  private constructor(client: SftpClient, sftp: SFTPWrapper, options: { callTimeoutMs: number; downloadConcurrency: number }) {
    this.#client = client;
    this.#sftp = sftp;
    this.#timeoutMs = options.callTimeoutMs;
    this.#concurrency = options.downloadConcurrency;
    // ssh2 keeps the server's read limit in a private field; ssh2 would split a larger READ into sequential ones.
    const serverMax = (sftp as unknown as { _maxReadLen?: unknown })._maxReadLen;
    this.#chunkBytes = typeof serverMax === 'number' && serverMax > 0 ? Math.min(serverMax, maxReadChunkBytes) : fallbackReadChunkBytes;
  }

  /** Bytes per READ request on this connection. */
  get readChunkBytes(): number {
    return this.#chunkBytes;
  }

  /**
   * Connects and opens the SFTP subsystem within `callTimeoutMs`.
   * @throws GatewayError SFTP_HOST_KEY_MISMATCH (details carry the presented fingerprint),
   *   SFTP_TIMEOUT, SFTP_UNAVAILABLE (refused, unreachable, login refused)
   */
  static async connect(config: SftpSourceConfig): Promise<SftpSession> {
    const privateKey = await readFile(config.privateKeyFile).catch((e: unknown) => {
      throw new GatewayError('SFTP_UNAVAILABLE', { host: config.host, port: config.port, op: 'connect', reason: 'private_key_unreadable' }, { cause: e });
    });
    // The connection may drop between the handshake and the session object: remember it.
    const holder: { session?: SftpSession; closed: boolean } = { closed: false };
    const markClosed = () => {
      holder.closed = true;
      if (holder.session !== undefined) holder.session.#closed = true;
    };
    // Our own listeners replace ssh2-sftp-client's defaults, which write to stdout (STACK-NOTES §4).
    const client = new SftpClient('veilgate', { error: markClosed, end: markClosed, close: markClosed });
    // The callbacks above are skipped while a call's own listeners handle an event; these never are.
    client.on('close', markClosed);
    client.on('end', markClosed);
    let presented: string | undefined;
    const where = { host: config.host, port: config.port };
    const connecting = client.connect({
      host: config.host,
      port: config.port,
      username: config.username,
      privateKey,
      // Our deadline below is the one that counts (ssh2-sftp-client drops the error's `level`); this is a backstop.
      readyTimeout: config.callTimeoutMs + 1000,
      keepaliveInterval: config.keepaliveIntervalMs,
      keepaliveCountMax,
      // RFC 4251 §4.1: the client must verify the server's host key. ssh2 passes the raw key blob;
      // OpenSSH's fingerprint is SHA-256 of that blob, base64 without padding.
      hostVerifier: (key: Buffer): boolean => {
        presented = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
        return presented === config.hostKeySha256;
      },
    });
    const sftp = await withDeadline(connecting, config.callTimeoutMs, () => destroyClient(client)).catch((e: unknown) => {
      destroyClient(client);
      if (presented !== undefined && presented !== config.hostKeySha256) {
        throw new GatewayError('SFTP_HOST_KEY_MISMATCH', { ...where, presentedSha256: presented }, { cause: e });
      }
      if (e instanceof DeadlineError || (e as { level?: string }).level === 'client-timeout') {
        throw new GatewayError('SFTP_TIMEOUT', { ...where, op: 'connect', timeoutMs: config.callTimeoutMs }, { cause: e });
      }
      const code = (e as { code?: unknown }).code;
      throw new GatewayError('SFTP_UNAVAILABLE', { ...where, op: 'connect', reason: typeof code === 'string' ? code : 'refused' }, { cause: e });
    });
    // Small requests (READs, window adjusts) must not wait for Nagle's algorithm (RFC 896) to batch
    // them behind unacknowledged data: with delayed ACKs that stalls a pipelined download.
    (client as unknown as { client?: SshClient }).client?.setNoDelay(true);
    const session = new SftpSession(client, sftp, config);
    holder.session = session;
    if (holder.closed) session.#closed = true;
    return session;
  }

  /** True once the connection broke, timed out or was ended: make a new session. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The entries of a remote folder (without `.` and `..`). */
  async list(dir: string): Promise<RemoteEntry[]> {
    const entries = await this.#call('list', () => this.#client.list(dir));
    return entries
      .filter((e) => e.name !== '.' && e.name !== '..')
      .map((e) => ({ name: e.name, type: entryType(e.type), sizeBytes: e.size, mtimeMs: e.modifyTime }));
  }

  /** The attributes of a path, or null when nothing is there. */
  async stat(path: string): Promise<RemoteEntry | null> {
    try {
      const st = await this.#call('stat', () => this.#client.stat(path));
      const type = st.isFile ? 'file' : st.isDirectory ? 'dir' : st.isSymbolicLink ? 'link' : 'other';
      return { name: path.slice(path.lastIndexOf('/') + 1), type, sizeBytes: st.size, mtimeMs: st.modifyTime };
    } catch (e) {
      if (e instanceof GatewayError && e.details?.reason === 'no_such_file') return null;
      throw e;
    }
  }

  /** Renames; fails (SFTP_UNAVAILABLE `failed`) when the target exists: SFTP v3 rename never overwrites. */
  async rename(from: string, to: string): Promise<void> {
    await this.#call('rename', () => this.#client.rename(from, to));
  }

  /** Writes a small file (created or truncated): open, then the WRITE and the CLOSE sent together. */
  async writeFile(path: string, bytes: Uint8Array): Promise<void> {
    const sftp = this.#sftp;
    const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const handle = await this.#call('open', () => callback<Buffer>((cb) => sftp.open(path, 'w', cb)));
    // sftp-server answers in order, so the CLOSE need not wait for the WRITE's answer (ssh2 splits a
    // WRITE larger than the server's limit itself); a failed WRITE still fails the call.
    const written = this.#call('write', () => callback<void>((cb) => sftp.write(handle, data, 0, data.length, 0, cb)));
    const closed = this.#call('close', () => callback<void>((cb) => sftp.close(handle, cb)));
    const [w, c] = await Promise.allSettled([written, closed]);
    if (w.status === 'rejected') throw w.reason;
    if (c.status === 'rejected') throw c.reason;
  }

  async remove(path: string): Promise<void> {
    await this.#call('remove', () => this.#client.delete(path));
  }

  /** Creates a folder and its parents unless they exist (remembered for the life of the session). */
  async ensureDir(path: string): Promise<void> {
    if (this.#knownDirs.has(path)) return;
    const st = await this.stat(path);
    if (st === null) await this.#call('mkdir', () => this.#client.mkdir(path, true));
    else if (st.type !== 'dir') throw new GatewayError('SFTP_UNAVAILABLE', { op: 'mkdir', reason: 'not_a_directory' });
    this.#knownDirs.add(path);
  }

  /**
   * Streams a remote file with `downloadConcurrency` READ requests in flight (as ssh2's fastGet
   * does), yielding chunks in order; the consumer's pace is the backpressure (no more than the
   * in-flight window is ever buffered). Each READ has the call deadline. At the end the size must be
   * exactly `expected.sizeBytes` (a READ past it returns EOF) and the file's size and mtime must be
   * those listed: anything else was growing or rewritten under us.
   * @throws GatewayError SFTP_SIZE_MISMATCH, SFTP_TIMEOUT, SFTP_UNAVAILABLE
   */
  async *download(path: string, expected: { sizeBytes: number; mtimeMs: number }): AsyncGenerator<Uint8Array, void, undefined> {
    const sftp = this.#sftp;
    const handle = await this.#call('open', () => callback<Buffer>((cb) => sftp.open(path, 'r', cb)));
    try {
      const inflight: Array<{ offset: number; length: number; data: Promise<Buffer> }> = [];
      const issue = (offset: number, length: number, atFront = false) => {
        const data = this.#read(handle, offset, length);
        data.catch(() => {}); // awaited in order below; a rejection of a later one must not go unhandled meanwhile
        const request = { offset, length, data };
        if (atFront) inflight.unshift(request);
        else inflight.push(request);
      };
      let next = 0;
      // Sent right behind the last data READ, so that they cost no round trip of their own
      // (sftp-server answers requests in order: the fstat sees the file after every READ).
      let tail: { beyond: Promise<Buffer>; stat: Promise<Stats> } | undefined;
      const fill = () => {
        while (inflight.length < this.#concurrency && next < expected.sizeBytes) {
          const length = Math.min(this.#chunkBytes, expected.sizeBytes - next);
          issue(next, length);
          next += length;
        }
        if (next >= expected.sizeBytes && tail === undefined) {
          tail = { beyond: this.#read(handle, expected.sizeBytes, 1), stat: this.#call('stat', () => callback<Stats>((cb) => sftp.fstat(handle, cb))) };
          tail.beyond.catch(() => {});
          tail.stat.catch(() => {});
        }
      };
      fill();
      while (inflight.length > 0) {
        const head = inflight.shift()!;
        const data = await head.data;
        if (data.length === 0) throw new GatewayError('SFTP_SIZE_MISMATCH', { expectedBytes: expected.sizeBytes, reason: 'shorter' });
        // A short read is legal (RFC draft §6.4): ask for the rest before anything after it.
        if (data.length < head.length) issue(head.offset + data.length, head.length - data.length, true);
        fill();
        yield data;
      }
      const beyond = await tail!.beyond;
      const st = await tail!.stat;
      if (beyond.length > 0 || st.size !== expected.sizeBytes) {
        throw new GatewayError('SFTP_SIZE_MISMATCH', { expectedBytes: expected.sizeBytes, reason: 'longer' });
      }
      if (st.mtime * 1000 !== expected.mtimeMs) throw new GatewayError('SFTP_SIZE_MISMATCH', { expectedBytes: expected.sizeBytes, reason: 'modified_during_download' });
    } finally {
      if (!this.#closed) await this.#call('close', () => callback<void>((cb) => sftp.close(handle, cb))).catch(() => {});
    }
  }

  /** Ends the connection politely, within the deadline; destroys it otherwise. */
  async end(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#call('end', () => this.#client.end());
    } catch {
      // destroyed by the deadline, or already gone
    } finally {
      this.destroy();
    }
  }

  /** Drops the connection at once (the socket is destroyed; pending calls fail). */
  destroy(): void {
    this.#closed = true;
    destroyClient(this.#client);
  }

  #read(handle: Buffer, offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.allocUnsafe(length);
    return this.#call('read', () => new Promise<Buffer>((resolve, reject) => {
      this.#sftp.read(handle, buffer, 0, length, offset, (err, bytesRead) => {
        if (err !== undefined && err !== null) reject(err);
        else resolve(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
      });
    }));
  }

  /** Runs one SFTP call under the deadline; on expiry the connection is destroyed. */
  #call<T>(op: string, start: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new GatewayError('SFTP_UNAVAILABLE', { op, reason: 'connection_lost' }));
    return withDeadline(start(), this.#timeoutMs, () => this.destroy()).catch((e: unknown) => {
      const wrapped = this.#wrap(op, e);
      // A folder we created may have been removed by the creditor since: check again next time
      // (a stat finding nothing is the normal answer to "is this name free?", not a sign of that).
      if (op !== 'stat' || wrapped.details?.reason !== 'no_such_file') this.#knownDirs.clear();
      throw wrapped;
    });
  }

  #wrap(op: string, e: unknown): GatewayError {
    if (e instanceof GatewayError) return e;
    if (e instanceof DeadlineError) return new GatewayError('SFTP_TIMEOUT', { op, timeoutMs: this.#timeoutMs });
    if (this.#closed) return new GatewayError('SFTP_UNAVAILABLE', { op, reason: 'connection_lost' }, { cause: e });
    // ssh2 gives the SFTP status number; ssh2-sftp-client turns some into ENOENT/EACCES or its own codes.
    const code = (e as { code?: unknown }).code;
    const reason = code === status.noSuchFile || code === 'ENOENT' ? 'no_such_file'
      : code === status.permissionDenied || code === 'EACCES' ? 'permission_denied'
        : 'failed';
    return new GatewayError('SFTP_UNAVAILABLE', { op, reason }, { cause: e });
  }
}

function entryType(t: string): RemoteEntry['type'] {
  return t === '-' ? 'file' : t === 'd' ? 'dir' : t === 'l' ? 'link' : 'other';
}

class DeadlineError extends Error {}

function withDeadline<T>(promise: Promise<T>, timeoutMs: number, onExpiry: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onExpiry();
      reject(new DeadlineError(`deadline of ${timeoutMs} ms passed`));
    }, timeoutMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function callback<T>(run: (cb: (err: Error | undefined | null, value: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    run((err, value) => (err !== undefined && err !== null ? reject(err) : resolve(value)));
  });
}

/** ssh2-sftp-client keeps the ssh2 Client as `client` (not in its type definitions). */
function destroyClient(client: SftpClient): void {
  const ssh = (client as unknown as { client?: SshClient }).client;
  try {
    ssh?.destroy();
  } catch {
    // already destroyed
  }
}
