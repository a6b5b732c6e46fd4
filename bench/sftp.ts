/**
 * SFTP download benchmark (not a test): `npx tsx bench/sftp.ts [--mib 256] [--runs 3]`.
 *
 * Starts a real OpenSSH sshd on loopback (test/helpers/sshd.ts), puts a file of random bytes in it,
 * then in the same run, alternating, downloads it
 *   (a) with the gateway's client (src/ingest/sftp-client.ts: pipelined READs, hashed as they arrive,
 *       size checked at the end), SHA-256 verified;
 *   (b) with OpenSSH's own `sftp` client (`get` into a file on tmpfs, so that disk writeback adds no
 *       noise; default cipher, and aes128-gcm, which is what ssh2 negotiates on a CPU with AES-NI),
 *       its copy SHA-256 verified afterwards;
 *   (c) for reference, ssh2-sftp-client's fastGet into a file on tmpfs;
 * and prints the median MiB/s of each and the ratio of (a) to the faster `sftp`. One untimed
 * download warms the JIT first (a long-running gateway is warm; the `sftp` binary is native code).
 * Numbers are noisy on a shared machine: compare within one run only.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SftpClient from 'ssh2-sftp-client';
import type { SftpSourceConfig } from '../src/config/types.js';
import { SftpSession } from '../src/ingest/sftp-client.js';
import { startSshd } from '../test/helpers/sshd.js';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } } });
const sizeMiB = Number(values.mib);
const runs = Number(values.runs);
const sizeBytes = sizeMiB * 1048576;

const sshd = await startSshd();
const local = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vg-bench-sftp-'));
try {
  // The remote file: random bytes (incompressible), written straight into the server's folder.
  const remoteName = `bench-${sizeMiB}MiB.bin`;
  const fd = openSync(join(sshd.root, remoteName), 'w');
  const expected = createHash('sha256');
  const block = Buffer.allocUnsafe(4 * 1048576);
  for (let written = 0; written < sizeBytes; written += block.length) {
    randomFillSync(block);
    const piece = block.subarray(0, Math.min(block.length, sizeBytes - written));
    writeSync(fd, piece);
    expected.update(piece);
  }
  closeSync(fd);
  const expectedSha256 = expected.digest('hex');
  console.log(`file: ${sizeMiB} MiB of random bytes, sha256 ${expectedSha256.slice(0, 16)}…; ${runs} runs each, alternating`);

  const config: SftpSourceConfig = {
    host: '127.0.0.1', port: sshd.port, username: sshd.username, privateKeyFile: sshd.clientKeyFile, hostKeySha256: sshd.hostKeySha256,
    inbound: [{ dir: '.', kind: 'placement' }], processedDir: 'processed', rejectedDir: 'rejected', ackDir: 'acks', filePattern: '.*',
    readiness: 'settle', settleMs: 0, pollIntervalMs: 1000, callTimeoutMs: 30_000, keepaliveIntervalMs: 10_000, maxBackoffMs: 1000,
    downloadConcurrency: schemaDefaultConcurrency(),
  };

  let chunkKiB = 0;
  const gateway = (downloadConcurrency: number) => async (): Promise<number> => {
    const session = await SftpSession.connect({ ...config, downloadConcurrency });
    chunkKiB = session.readChunkBytes / 1024;
    try {
      const st = (await session.stat(remoteName))!;
      const hash = createHash('sha256');
      const started = process.hrtime.bigint();
      let received = 0;
      for await (const chunk of session.download(remoteName, st)) {
        hash.update(chunk);
        received += chunk.length;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (received !== sizeBytes || hash.digest('hex') !== expectedSha256) throw new Error('gateway download: SHA-256 mismatch');
      return seconds;
    } finally {
      await session.end();
    }
  };

  const openssh = (cipher?: string) => async (): Promise<number> => {
    const out = join(local, 'sftp-copy.bin');
    const args = ['-q', '-b', '-', '-i', sshd.clientKeyFile, '-P', String(sshd.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
    if (cipher !== undefined) args.push('-c', cipher);
    // The connection is made before timing starts: `sftp` reads its batch from stdin, so time from the `get`.
    const started = process.hrtime.bigint();
    const r = spawnSync('sftp', [...args, `${sshd.username}@127.0.0.1`], { input: `get ${remoteName} ${out}\n`, stdio: ['pipe', 'ignore', 'pipe'] });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`sftp exited ${r.status}: ${r.stderr.toString()}`);
    if ((await sha256File(out)) !== expectedSha256) throw new Error('sftp download: SHA-256 mismatch');
    rmSync(out);
    return seconds;
  };

  const fastGet = async (): Promise<number> => {
    const client = new SftpClient('bench', { error: () => {}, end: () => {}, close: () => {} });
    await client.connect({ host: config.host, port: config.port, username: config.username, privateKey: readFileSync(config.privateKeyFile) });
    const out = join(local, 'fastget-copy.bin');
    try {
      const started = process.hrtime.bigint();
      await client.fastGet(remoteName, out, { concurrency: 64, chunkSize: 32768 });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if ((await sha256File(out)) !== expectedSha256) throw new Error('fastGet download: SHA-256 mismatch');
      rmSync(out);
      return seconds;
    } finally {
      await client.end();
    }
  };

  // A connection's setup (ssh handshake) is part of the `sftp` timing: measure it alone and take it off.
  const handshake = (() => {
    const started = process.hrtime.bigint();
    spawnSync('sftp', ['-q', '-b', '-', '-i', sshd.clientKeyFile, '-P', String(sshd.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `${sshd.username}@127.0.0.1`], { input: 'pwd\n', stdio: ['pipe', 'ignore', 'ignore'] });
    return Number(process.hrtime.bigint() - started) / 1e9;
  })();

  await gateway(config.downloadConcurrency)(); // warm-up, untimed
  const gatewayRows = [...new Set([config.downloadConcurrency, 16])].map((c) => `gateway (${c} in flight${c === config.downloadConcurrency ? ', default' : ''})`);
  const contenders: Array<[string, () => Promise<number>, number]> = [
    ...[...new Set([config.downloadConcurrency, 16])].map((c, i): [string, () => Promise<number>, number] => [gatewayRows[i]!, gateway(c), 0]),
    ['sftp (default cipher)', openssh(), handshake],
    ['sftp -c aes128-gcm', openssh('aes128-gcm@openssh.com'), handshake],
    ['fastGet (reference)', fastGet, 0],
  ];
  const times = new Map<string, number[]>(contenders.map(([name]) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const [name, measure, overhead] of contenders) times.get(name)!.push(Math.max(0.001, (await measure()) - overhead));
  }
  const rate = (name: string) => sizeMiB / median(times.get(name)!);
  console.log(`gateway READ size ${chunkKiB} KiB (the server's limit); downloadConcurrency default (schema) ${config.downloadConcurrency}`);
  console.log(`sftp handshake (subtracted from the sftp times): ${(handshake * 1000).toFixed(0)} ms`);
  for (const [name] of contenders) {
    console.log(`${name.padEnd(34)} ${rate(name).toFixed(1).padStart(7)} MiB/s  (runs: ${times.get(name)!.map((s) => (sizeMiB / s).toFixed(0)).join(', ')} MiB/s)`);
  }
  const baseline = Math.max(rate('sftp (default cipher)'), rate('sftp -c aes128-gcm'));
  for (const name of gatewayRows) {
    console.log(`ratio ${name} / fastest sftp: ${(rate(name) / baseline).toFixed(2)}× (target ≥ 0.80×)`);
  }
} finally {
  await sshd.stop();
  rmSync(local, { recursive: true, force: true });
}

/** downloadConcurrency's default, from the config schema, so that the benchmark follows it. */
function schemaDefaultConcurrency(): number {
  const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'schemas', 'config.schema.json'), 'utf8')) as {
    $defs: { sftp: { properties: { downloadConcurrency: { default: number } } } };
  };
  return schema.$defs.sftp.properties.downloadConcurrency.default;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
