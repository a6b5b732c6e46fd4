/**
 * Release API benchmark (not a test): `npm run bench:api -- [--accounts N] [--seconds S] [--connections C]`.
 *
 * Ingests N demo placements (gpg-encrypted and signed as demo-bank, through `veilgate ingest`), starts
 * `veilgate serve` on the same data, collects demo-collector's account tokens from its feed, then
 * drives `GET /v1/accounts/{token}` (purpose collection-contact, audit on, cycling through the
 * tokens) with autocannon over loopback. In the same run, the same load on a bare Express route
 * that returns a constant gives the baseline. Prints requests/s, p50/p99 latency, the ratio, and
 * checks that every answered read wrote its audit entry.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { encryptedPlacements } from './placement-file.js';

const { values } = parseArgs({ options: {
  accounts: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '10' }, connections: { type: 'string', default: '16' },
} });
const accounts = Number(values.accounts);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'vg-bench-api-'));
const dataDir = join(work, 'data');
const keys = join(root, 'keys-example');
const encrypted = join(work, 'placements.csv.gpg');
await encryptedPlacements(work, accounts, 7, encrypted);
execFileSync(join(root, 'bin', 'veilgate.js'), ['ingest', '--source', 'demo-bank', '--kind', 'placement', '--data-dir', dataDir, encrypted], { stdio: ['ignore', 'ignore', 'inherit'] });

const collectorKey = readFileSync(join(keys, 'demo-collector.api-key'), 'utf8').trim();
const headers = { authorization: `Bearer ${collectorKey}`, 'x-veilgate-purpose': 'collection-contact' };

async function startServer(args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: {
    ...process.env, VEILGATE_API__PORT: String(port), VEILGATE_LOG__LEVEL: 'warn',
    // One recipient is the whole load here: lift its per-caller request limit, not the audit.
    VEILGATE_RELEASE__REQUESTS_PER_MINUTE: '100000000',
  } });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server on ${port} did not start`);
}

async function load(url: string, paths: string[]): Promise<autocannon.Result> {
  let i = 0;
  return autocannon({
    url, connections, duration: seconds, headers,
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length]! }) }],
  });
}

const bareScript = `const e=require(${JSON.stringify(createRequire(import.meta.url).resolve('express'))});const a=e();a.get('/healthz',(q,r)=>r.json({status:'ok'}));a.get('/v1/accounts/:t',(q,r)=>r.json({account:q.params.t,fields:{balance:{value:'1.00'}}}));a.listen(Number(process.env.VEILGATE_API__PORT),'127.0.0.1');`;
const bare = await startServer(['-e', bareScript], 18441);
const bareResult = await load('http://127.0.0.1:18441', ['/v1/accounts/v1.AAAAAAAAAAAAAAAAAAAAAA']);
bare.kill();

const gateway = await startServer([join(root, 'bin', 'veilgate.js'), 'serve', '--data-dir', dataDir], 18440);
const tokens: string[] = [];
let cursor = '0';
while (tokens.length < accounts) {
  const page = await (await fetch(`http://127.0.0.1:18440/v1/feed?after=${cursor}&limit=500`, { headers })).json() as { events: Array<{ view: { account: string } }>; next_cursor: string; has_more: boolean };
  tokens.push(...page.events.map((e) => e.view.account));
  cursor = page.next_cursor;
  if (!page.has_more) break;
}
const db = new Database(join(dataDir, 'veilgate.db'), { readonly: true });
const auditBefore = (db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'release.account'").get() as { n: number }).n;
const gatewayResult = await load('http://127.0.0.1:18440', tokens.map((t) => `/v1/accounts/${t}`));
const auditAfter = (db.prepare("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'release.account'").get() as { n: number }).n;
gateway.kill();
db.close();

const row = (name: string, r: autocannon.Result) =>
  `${name.padEnd(34)} ${Math.round(r.requests.average).toLocaleString('en-US').padStart(7)} req/s  p50 ${String(r.latency.p50).padStart(4)} ms  p99 ${String(r.latency.p99).padStart(4)} ms  non-2xx ${r.non2xx}  errors ${r.errors}`;
console.log(`${accounts} accounts, ${connections} connections, ${seconds} s each, loopback`);
console.log(row('bare Express, constant JSON', bareResult));
console.log(row('GET /v1/accounts/{token}, audited', gatewayResult));
console.log(`ratio gateway/bare throughput: ${(gatewayResult.requests.average / bareResult.requests.average).toFixed(2)}`);
// autocannon stops counting at the deadline while up to one request per connection is still answered.
const answered = gatewayResult['2xx'];
const written = auditAfter - auditBefore;
const audited = written >= answered && written - answered <= connections;
console.log(`audit entries written: ${written} for ${answered} counted reads (+ at most ${connections} in flight at the deadline): ${audited ? 'every read audited' : 'MISMATCH'}`);
rmSync(work, { recursive: true, force: true });
if (!audited || gatewayResult.non2xx > 0) process.exitCode = 1;
