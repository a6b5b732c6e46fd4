/**
 * Regenerates keys-example/: the DEMO-ONLY key set used by `npm start` and the tests.
 * Run: npx tsx scripts/make-demo-keys.ts (only after deleting the old files on purpose).
 * The OpenPGP keys are made by GnuPG itself, as creditors make theirs, so that GnuPG 2.2 imports
 * them without preference warnings.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateGatewayJwks, randomKeyBase64, writeApiKeysAndJwks } from '../src/keys/generate.js';
import { writeDemoOfficer } from '../src/officers/password.js';

const dir = join(import.meta.dirname, '..', 'keys-example');
mkdirSync(dir, { recursive: true });
const home = mkdtempSync(join(tmpdir(), 'veilgate-keys-'));
const gpg = (...args: string[]) => execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--passphrase', '', '--pinentry-mode', 'loopback', ...args]);

const pgpKeys: Array<[string, string, 'rsa3072' | 'ed25519']> = [
  ['gateway', 'Veilgate DEMO gateway (not for real use) <gateway@veilgate.invalid>', 'ed25519'],
  ['demo-bank', 'Demo Bank (DEMO KEY) <demo-bank@example.invalid>', 'rsa3072'],
  ['demo-hospital', 'Demo Hospital (DEMO KEY) <demo-hospital@example.invalid>', 'ed25519'],
  ['demo-agency', 'Demo Revenue Agency (DEMO KEY) <demo-agency@example.invalid>', 'ed25519'],
];
for (const [id, uid, algo] of pgpKeys) {
  gpg('--quick-gen-key', uid, algo, 'sign', 'never');
  const fpr = /fpr:+([0-9A-F]{40}):/.exec(gpg('--with-colons', '--list-keys', uid).toString())![1]!;
  gpg('--quick-add-key', fpr, algo === 'rsa3072' ? 'rsa3072' : 'cv25519', 'encr', 'never');
  writeFileSync(join(dir, `${id}.pgp.asc`), gpg('--armor', '--export-secret-keys', fpr), { mode: 0o600 });
  writeFileSync(join(dir, `${id}.pgp.pub.asc`), gpg('--armor', '--export', fpr));
}
rmSync(home, { recursive: true, force: true });

const jwks = generateGatewayJwks('gateway');
writeFileSync(join(dir, 'gateway.jwks.json'), JSON.stringify(jwks.privateJwks, null, 2) + '\n', { mode: 0o600 });
writeFileSync(join(dir, 'gateway.jwks.pub.json'), JSON.stringify(jwks.publicJwks, null, 2) + '\n');
writeFileSync(join(dir, 'token-root.v1.key'), randomKeyBase64(), { mode: 0o600 });
writeFileSync(join(dir, 'vault-root.v1.key'), randomKeyBase64(), { mode: 0o600 });
writeApiKeysAndJwks(dir);
await writeDemoOfficer(dir);
console.log(`wrote demo keys to ${dir}`);
