import { copyFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSftpPollers } from '../../src/ingest/sftp-poller.js';
import type { SftpDelivery } from '../../src/store/store.js';
import { Gpg } from '../helpers/gpg.js';
import { startSshd, type TestSshd } from '../helpers/sshd.js';
import { workspaceDeps } from '../helpers/workspace.js';
import { ageFile, gpgPlacementFile, listDir, query, sftpSection, sftpWorkspace, startPollers, stopGpgAgent, waitUntil } from './harness.js';
import { tempDir } from '../helpers/temp-dirs.js';

let sshd: TestSshd;
let gpg: Gpg;
beforeAll(async () => {
  [sshd, gpg] = await Promise.all([startSshd(), Gpg.create()]);
});
afterAll(async () => {
  await stopGpgAgent(gpg);
  sshd?.resume();
  await sshd?.stop();
});

describe('a hung, dead or impostor server never hangs the gateway', () => {
  it('times out a call to an sshd that was SIGSTOPped as a download started, recovers after SIGCONT, and takes the file once; reconnects after sshd is killed and restarted', async () => {
    const ws = sftpWorkspace({ 'demo-bank': sftpSection(sshd, 'hang', { callTimeoutMs: 1000, keepaliveIntervalMs: 300, maxBackoffMs: 800 }) });
    const local = tempDir('vg-sftp-');
    const inbound = join(sshd.root, 'hang', 'inbound');
    const file = await gpgPlacementFile(gpg, local, 'stalled.csv.gpg', ['ACC-H1', 'ACC-H2']);
    copyFileSync(file, join(inbound, 'stalled.csv.gpg'));
    ageFile(join(inbound, 'stalled.csv.gpg'));

    const { deps, logs } = await workspaceDeps(ws);
    // The server freezes right after the gateway recorded its intent to take the file, i.e. as the download starts.
    const store = deps.store;
    const begin = store.beginSftpDelivery.bind(store);
    let frozenAt = 0;
    store.beginSftpDelivery = async (d, fence): Promise<SftpDelivery> => {
      const delivery = await begin(d, fence);
      if (frozenAt === 0) {
        sshd.pause();
        frozenAt = Date.now();
      }
      return delivery;
    };
    const cycles = new Map<string, number>();
    const pollers = startSftpPollers(deps, { onCycle: (s) => cycles.set(s, (cycles.get(s) ?? 0) + 1) });
    try {
      await waitUntil(() => pollers.status()['demo-bank']!.lastError === 'SFTP_TIMEOUT', 'the download to time out', 10_000);
      const timedOutAfterMs = Date.now() - frozenAt;
      expect(timedOutAfterMs).toBeGreaterThanOrEqual(900);
      expect(timedOutAfterMs).toBeLessThan(3000);
      // While frozen, reconnects time out too, and the poller keeps cycling (backing off) instead of hanging.
      const before = cycles.get('demo-bank') ?? 0;
      await waitUntil(() => (cycles.get('demo-bank') ?? 0) >= before + 2, 'two failed cycles while frozen', 10_000);
      expect(pollers.status()['demo-bank']).toMatchObject({ state: 'failing', lastError: 'SFTP_TIMEOUT', filesTaken: 0 });
      expect(listDir(inbound)).toContain('stalled.csv.gpg');

      sshd.resume();
      await waitUntil(() => listDir(join(inbound, 'processed')).includes('stalled.csv.gpg'), 'the file to be taken after SIGCONT', 15_000);
      await waitUntil(() => pollers.status()['demo-bank']!.state === 'ok', 'the source to be ok again');

      // sshd killed outright (mid-whatever the poller was doing) and started again: the poller reconnects.
      await sshd.restart();
      const next = await gpgPlacementFile(gpg, local, 'after-restart.csv.gpg', ['ACC-H3']);
      copyFileSync(next, join(inbound, 'after-restart.csv.gpg'));
      await waitUntil(() => listDir(join(inbound, 'processed')).includes('after-restart.csv.gpg'), 'a file taken after the restart', 15_000);
    } finally {
      sshd.resume();
      await pollers.stop();
      await deps.store.close();
    }
    const timeouts = logs.parsed().filter((l) => (l.err as { code?: string } | undefined)?.code === 'SFTP_TIMEOUT');
    expect(timeouts.length).toBeGreaterThan(0);
    const firstOp = ((timeouts[0]!.err as { details: { op: string } }).details).op;
    expect(['open', 'read', 'stat']).toContain(firstOp);
    expect(query(ws, 'SELECT state FROM files')).toEqual([{ state: 'committed' }, { state: 'committed' }]);
    expect(query(ws, 'SELECT COUNT(*) AS n FROM sftp_deliveries')).toEqual([{ n: 2 }]);
    expect(query(ws, 'SELECT COUNT(*) AS n FROM records')).toEqual([{ n: 3 }]);
    expect(listDir(join(inbound, 'acks'))).toEqual(['after-restart.csv.gpg.ack.json.gpg', 'stalled.csv.gpg.ack.json.gpg']);
  });

  it('refuses a wrong pinned host key with SFTP_HOST_KEY_MISMATCH, and neither that nor a dead port nor a server that never answers delays another source', async () => {
    // A "server" that accepts TCP connections and then says nothing: the worst kind of hang.
    const blackHole: Server = createServer((socket: Socket) => {
      socket.on('error', () => {});
    });
    blackHole.listen(0, '127.0.0.1');
    await once(blackHole, 'listening');
    const holePort = (blackHole.address() as AddressInfo).port;
    const deadServer = createServer();
    deadServer.listen(0, '127.0.0.1');
    await once(deadServer, 'listening');
    const deadPort = (deadServer.address() as AddressInfo).port;
    await new Promise<void>((resolve) => deadServer.close(() => resolve()));

    const wrongKey = `SHA256:${'A'.repeat(43)}`;
    const ws = sftpWorkspace({
      'demo-bank': sftpSection(sshd, 'impostor', { hostKeySha256: wrongKey }),
      'demo-hospital': sftpSection(sshd, 'hole', { port: holePort, callTimeoutMs: 3000, maxBackoffMs: 3000 }),
      'demo-agency': sftpSection(sshd, 'healthy'),
    }, (raw) => {
      raw.sources['demo-dead'] = { ...structuredClone(raw.sources['demo-agency']!), sftp: sftpSection(sshd, 'dead', { port: deadPort }) };
    });
    const local = tempDir('vg-sftp-');
    const bankFile = await gpgPlacementFile(gpg, local, 'bank.csv.gpg', ['ACC-B1']);
    copyFileSync(bankFile, join(sshd.root, 'impostor', 'inbound', 'bank.csv.gpg'));
    const agencyFiles = await Promise.all([1, 2, 3].map((i) => gpgPlacementFile(gpg, local, `agency-${i}.csv.gpg`, [`ACC-A${i}`], { signer: 'demo-agency@example.invalid' })));

    const started = Date.now();
    const gw = await startPollers(ws);
    try {
      // The healthy source keeps its pace while the others fail: files dropped one after another are each taken promptly.
      for (const [i, f] of agencyFiles.entries()) {
        copyFileSync(f, join(sshd.root, 'healthy', 'inbound', `agency-${i + 1}.csv.gpg`));
        const dropped = Date.now();
        await waitUntil(() => listDir(join(sshd.root, 'healthy', 'inbound', 'processed')).length === i + 1, `agency file ${i + 1}`, 10_000);
        expect(Date.now() - dropped).toBeLessThan(2500);
      }
      await waitUntil(() => gw.pollers.status()['demo-hospital']!.lastError === 'SFTP_TIMEOUT', 'the black hole to time out', 10_000);
      const status = gw.pollers.status();
      expect(status['demo-bank']).toMatchObject({ state: 'failing', lastError: 'SFTP_HOST_KEY_MISMATCH', filesTaken: 0 });
      expect(status['demo-dead']).toMatchObject({ state: 'failing', lastError: 'SFTP_UNAVAILABLE', filesTaken: 0 });
      expect(status['demo-hospital']).toMatchObject({ state: 'failing', lastError: 'SFTP_TIMEOUT', filesTaken: 0 });
      expect(status['demo-agency']).toMatchObject({ state: 'ok', lastError: null, filesTaken: 3 });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await gw.stop();
      blackHole.close();
    }
    // The impostor got nothing: the file is still there, nothing was recorded for the source.
    expect(listDir(join(sshd.root, 'impostor', 'inbound'))).toEqual(['bank.csv.gpg']);
    expect(query(ws, "SELECT COUNT(*) AS n FROM sftp_deliveries WHERE source = 'demo-bank'")).toEqual([{ n: 0 }]);
    const mismatch = gw.logs.parsed().find((l) => (l.err as { code?: string } | undefined)?.code === 'SFTP_HOST_KEY_MISMATCH');
    expect(mismatch).toMatchObject({ source: 'demo-bank', err: { details: { presentedSha256: sshd.hostKeySha256 } } });
  });
});
