/**
 * Does `serve` keep answering while it ingests a large file? (A benchmark, not a test.)
 * `npm run bench:stalls -- [--records N]`
 *
 * Makes a placement file of N records (gpg-encrypted and signed as demo-bank), starts `veilgate
 * serve` on a fresh data directory, probes `/healthz` for 5 s while it is idle (the baseline), then
 * uploads the file and probes `/healthz` every 20 ms until its receipt is answered, scraping
 * `/metrics` each second for the longest event loop stall. Prints the probes' p50/p99/max against the
 * idle baseline, and the longest stall with when it happened.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encryptedPlacements } from './placement-file.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '1000000' }, port: { type: 'string', default: '18442' } } });
const records = Number(values.records);
const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'vg-bench-stalls-'));
const encrypted = join(work, 'placements.csv.gpg');
console.log(`generating ${records.toLocaleString('en-US')} records ...`);
await encryptedPlacements(work, records, 7, encrypted);

const base = `http://127.0.0.1:${values.port}`;
const gateway = spawn(process.execPath, [join(root, 'bin', 'veilgate.js'), 'serve', '--data-dir', join(work, 'data')], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, VEILGATE_API__PORT: values.port, VEILGATE_LOG__LEVEL: 'warn' },
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
for (let up = false; !up; await sleep(100)) up = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);

/** /healthz round trips every 20 ms until `until()`; a failed probe counts with the time it took to fail. */
async function probe(until: () => boolean): Promise<number[]> {
  const took: number[] = [];
  while (!until()) {
    const started = performance.now();
    await fetch(`${base}/healthz`).then((r) => r.text(), () => null);
    took.push(performance.now() - started);
    await sleep(20);
  }
  return took.sort((a, b) => a - b);
}
const idleUntil = performance.now() + 5_000;
const idle = await probe(() => performance.now() > idleUntil);

const bank = readFileSync(join(root, 'keys-example', 'demo-bank.api-key'), 'utf8').trim();
const started = performance.now();
const upload = await fetch(`${base}/v1/files?kind=placement`, {
  method: 'POST', body: readFileSync(encrypted),
  headers: { authorization: `Bearer ${bank}`, 'idempotency-key': `bench-stalls-${Date.now()}`, 'x-veilgate-file-name': 'placements.csv.gpg', 'content-type': 'application/octet-stream' },
});
const receipt = upload.headers.get('location');
if (upload.status !== 202 || receipt === null) throw new Error(`upload answered ${upload.status}: expected 202 and a receipt (files over api.syncMaxBytes)`);
let answered = false;
let ackStatus = '';
const stalls: Array<{ atS: number; stallS: number }> = [];
const watch = (async () => {
  while (!answered) {
    await sleep(1_000);
    const atS = (performance.now() - started) / 1000;
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text(), () => '');
    const stall = /^veilgate_event_loop_delay_max_seconds (\S+)$/m.exec(metrics);
    if (stall !== null) stalls.push({ atS, stallS: Number(stall[1]) });
    const ack = await fetch(`${base}${receipt}`, { headers: { authorization: `Bearer ${bank}` } }).then(async (r) => (r.status === 200 ? await r.json() as { status: string } : null), () => null);
    if (ack !== null) {
      ackStatus = ack.status;
      answered = true;
    }
  }
})();
const busy = await probe(() => answered);
await watch;
const ingestS = (performance.now() - started) / 1000;
gateway.kill();
rmSync(work, { recursive: true, force: true });

const quantile = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const row = (name: string, xs: number[]) =>
  `${name.padEnd(26)} ${String(xs.length).padStart(5)} probes  p50 ${quantile(xs, 0.5).toFixed(0).padStart(5)} ms  p99 ${quantile(xs, 0.99).toFixed(0).padStart(5)} ms  max ${quantile(xs, 1).toFixed(0).padStart(6)} ms`;
console.log(`${records.toLocaleString('en-US')} records uploaded to serve: ${ackStatus} after ${ingestS.toFixed(1)} s`);
console.log(row('/healthz, idle', idle));
console.log(row('/healthz, while ingesting', busy));
const worst = stalls.reduce((a, b) => (b.stallS > a.stallS ? b : a), { atS: 0, stallS: 0 });
console.log(stalls.length === 0
  ? 'longest event loop stall: not in /metrics (a gateway before veilgate_event_loop_delay_max_seconds)'
  : `longest event loop stall: ${(worst.stallS * 1000).toFixed(0)} ms (in the second before ${worst.atS.toFixed(0)} s); seconds with a stall over 100 ms: ${stalls.filter((s) => s.stallS > 0.1).length} of ${stalls.length}`);
if (ackStatus !== 'committed') process.exitCode = 1;
