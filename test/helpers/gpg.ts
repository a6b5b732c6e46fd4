import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from './temp-dirs.js';

const run = promisify(execFile);
export const keysDir = join(import.meta.dirname, '..', '..', 'keys-example');

export const uids = {
  gateway: 'gateway@veilgate.invalid',
  'demo-bank': 'demo-bank@example.invalid',
  'demo-hospital': 'demo-hospital@example.invalid',
  'demo-agency': 'demo-agency@example.invalid',
} as const;

/** The real GnuPG binary, in a throwaway home with the demo keys imported: what a creditor runs. */
export class Gpg {
  private constructor(readonly home: string) {}

  static async create(): Promise<Gpg> {
    const gpg = new Gpg(tempDir('vg-gnupg-'));
    const keyFiles = readdirSync(keysDir).filter((f) => f.endsWith('.pgp.asc')).map((f) => join(keysDir, f));
    await gpg.run(['--import', ...keyFiles]);
    return gpg;
  }

  async run(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('gpg', ['--homedir', this.home, '--batch', '--yes', '--quiet', '--trust-model', 'always', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { maxBuffer: 64 << 20 });
  }

  /** `gpg --encrypt [--sign]` as a creditor would, with GnuPG's defaults unless told otherwise. */
  async encrypt(input: string, output: string, options: { recipient?: string; signer?: string | null; armor?: boolean; compress?: 'zlib' | 'bzip2' | 'zip' | 'none' } = {}): Promise<void> {
    const args = ['--output', output, '--recipient', options.recipient ?? uids.gateway];
    if (options.signer !== null) args.push('--sign', '--local-user', options.signer ?? uids['demo-bank']);
    if (options.armor === true) args.push('--armor');
    if (options.compress !== undefined) args.push('--compress-algo', options.compress);
    await this.run([...args, '--encrypt', input]);
  }

  /** A fresh key of this home's, e.g. for "encrypted to another key" or "signed by an unknown key". */
  async generateKey(email: string, algo: 'rsa3072' | 'ed25519' = 'ed25519'): Promise<string> {
    await this.run(['--quick-gen-key', `Test <${email}>`, algo, 'sign,cert', 'never']);
    const fpr = /fpr:+([0-9A-F]{40}):/.exec((await this.run(['--with-colons', '--list-keys', email])).stdout)![1]!;
    await this.run(['--quick-add-key', fpr, algo === 'rsa3072' ? 'rsa3072' : 'cv25519', 'encr', 'never']);
    return email;
  }

  async exportPublic(email: string, output: string): Promise<void> {
    await this.run(['--armor', '--output', output, '--export', email]);
  }

  async exportSecret(email: string, output: string): Promise<void> {
    await this.run(['--armor', '--output', output, '--export-secret-keys', email]);
  }

  /** Decrypts and verifies; resolves with the plaintext and gpg's status lines. */
  async decrypt(input: string): Promise<{ plaintext: string; status: string }> {
    const { stdout, stderr } = await run('gpg', ['--homedir', this.home, '--batch', '--trust-model', 'always', '--status-fd', '2', '--decrypt', input], { maxBuffer: 64 << 20 });
    return { plaintext: stdout, status: stderr };
  }
}
