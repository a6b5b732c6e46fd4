import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as openpgp from 'openpgp';
import type { Deps } from '../../src/deps.js';
import { encryptBytes } from '../../src/open/pgp-write.js';
import { Gpg, keysDir, uids } from '../helpers/gpg.js';
import { ingestFile, placementRow, writeCsv } from '../helpers/files.js';
import { makeWorkspace, workspaceDeps, type Workspace } from '../helpers/workspace.js';

let gpg: Gpg;
let ws: Workspace;
let deps: Deps;
const rsaGateway = 'rsa-gateway@veilgate.invalid';

beforeAll(async () => {
  gpg = await Gpg.create();
  // A second gateway key, RSA-3072, so that files encrypted to RSA and to Curve25519 recipients are both covered.
  await gpg.generateKey(rsaGateway, 'rsa3072');
  const rsaSecret = join(gpg.home, 'rsa-gateway.asc');
  await gpg.exportSecret(rsaGateway, rsaSecret);
  ws = makeWorkspace((raw) => {
    (raw.keys as { pgpPrivateKeyFiles: string[] }).pgpPrivateKeyFiles.push(rsaSecret);
  });
  ({ deps } = await workspaceDeps(ws));
});

afterAll(async () => {
  await deps.store.close();
});

describe('files made by GnuPG 2.2 at test time', () => {
  const cases = [
    { name: 'binary, zlib (GnuPG default), Curve25519 recipient, RSA signer', armor: false, compress: undefined, recipient: uids.gateway, signer: uids['demo-bank'], source: 'demo-bank' },
    { name: 'armoured, zlib, Curve25519 recipient, Ed25519 signer', armor: true, compress: 'zlib', recipient: uids.gateway, signer: uids['demo-hospital'], source: 'demo-hospital' },
    { name: 'binary, bzip2, RSA recipient, RSA signer', armor: false, compress: 'bzip2', recipient: rsaGateway, signer: uids['demo-bank'], source: 'demo-bank' },
    { name: 'armoured, uncompressed, RSA recipient, Ed25519 signer', armor: true, compress: 'none', recipient: rsaGateway, signer: uids['demo-agency'], source: 'demo-agency' },
    { name: 'binary, zip (deflate), Curve25519 recipient, Ed25519 signer', armor: false, compress: 'zip', recipient: uids.gateway, signer: uids['demo-agency'], source: 'demo-agency' },
  ] as const;

  it.each(cases)('ingests $name', async (c) => {
    const rows = [placementRow(`${c.source}-A1-${c.compress ?? 'default'}-${c.armor}`), placementRow(`${c.source}-A2-${c.compress ?? 'default'}-${c.armor}`, { national_id: '123-45-6789', national_id_type: 'us_ssn' })];
    const csv = writeCsv(join(ws.dir, `plain-${cases.indexOf(c)}.csv`), rows, 'TRAILER,2,3041.50');
    const out = join(ws.dir, `file-${cases.indexOf(c)}.csv.gpg`);
    await gpg.encrypt(csv, out, { armor: c.armor, compress: c.compress, recipient: c.recipient, signer: c.signer });
    const ack = await ingestFile(deps, out, c.source, 'placement');
    expect(ack).toMatchObject({
      status: 'committed', source: c.source, kind: 'placement',
      counts: { records: 2, accepted: 2, rejected: 0 },
      control_totals: { record_count: 2, total_balance: '3041.50', matched: true },
      errors: [], file_error: null,
    });
    expect(await deps.store.countStagedRecords(ack.receipt_id)).toBe(2);
  });

  it('writes acknowledgements that GnuPG 2.2 decrypts and whose gateway signature it verifies', async () => {
    const ack = { receipt_id: 'rcpt_TEST', status: 'committed' };
    const creditorKey = await openpgp.readKey({ armoredKey: readFileSync(join(keysDir, 'demo-bank.pgp.pub.asc'), 'utf8') });
    const encrypted = await encryptBytes(new TextEncoder().encode(JSON.stringify(ack)), { encryptionKeys: [creditorKey], signingKeys: [deps.keys.pgpPrivateKeys[0]!] });
    const file = join(ws.dir, 'ack.json.gpg');
    writeFileSync(file, encrypted);
    const { plaintext, status } = await gpg.decrypt(file);
    expect(JSON.parse(plaintext)).toEqual(ack);
    expect(status).toMatch(/\[GNUPG:\] GOODSIG [0-9A-F]+ Veilgate DEMO gateway/);
    expect(status).toMatch(/\[GNUPG:\] DECRYPTION_OKAY/);
  });
});
