import { createDecipheriv, randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import nativeCrypto from '@veilgate/native-crypto';
import { describe, expect, it } from 'vitest';
import { Vault, type SubjectKeyStore } from '../../src/tokenise/vault.js';

/** Committed keys only, as the store holds them after a commit. */
function memoryStore(): SubjectKeyStore & { rows: Map<string, Buffer> } {
  const rows = new Map<string, Buffer>();
  return { rows, getSubjectKeys: async (tokens) => new Map(tokens.filter((t) => rows.has(t)).map((t) => [t, rows.get(t)!])) };
}

const kek1 = randomBytes(32);
const keys = { vaultKeys: new Map([[1, kek1]]), currentVault: { version: 1, key: kek1 } };

describe('the vault', () => {
  it('seals values under a per-subject key that opens them again, and only for that subject', async () => {
    const vault = new Vault(keys, memoryStore());
    const { keys: found, created } = await vault.dataKeys(['subj-a'], new Map());
    const dek = found.get('subj-a')!;
    const sealed = vault.seal(dek, 'subj-a', { first_name: 'Zebulonia' });
    expect(sealed.includes(Buffer.from('Zebulonia'))).toBe(false);
    expect(vault.open(dek, 'subj-a', sealed)).toEqual({ first_name: 'Zebulonia' });
    expect(() => vault.open(dek, 'subj-a-other', sealed)).toThrow();
    // What is stored is wrapped: the data key itself does not appear in it.
    expect(created.get('subj-a')!.includes(dek)).toBe(false);
    expect(vault.openWithWrapped(created.get('subj-a')!, 'subj-a', sealed)).toEqual({ first_name: 'Zebulonia' });
  });

  it('makes a key once per new subject in a file, and finds committed keys instead of making new ones', async () => {
    const store = memoryStore();
    const vault = new Vault(keys, store);
    const pending = new Map<string, Buffer>();
    const first = await vault.dataKeys(['s'], pending);
    const again = await vault.dataKeys(['s'], pending);
    expect(first.created.size).toBe(1);
    expect(again.created.size).toBe(0);
    expect(again.keys.get('s')!.equals(first.keys.get('s')!)).toBe(true);
    // Another file, before this one committed, does not see its pending key; after the commit it does.
    expect((await vault.dataKeys(['s'], new Map())).created.size).toBe(1);
    store.rows.set('s', first.created.get('s')!);
    const other = await new Vault(keys, store).dataKeys(['s'], new Map());
    expect(other.created.size).toBe(0);
    expect(other.keys.get('s')!.equals(first.keys.get('s')!)).toBe(true);
  });

  it('opens data keys wrapped under an older key-encryption key after a rotation', async () => {
    const store = memoryStore();
    const made = await new Vault(keys, store).dataKeys(['s'], new Map());
    store.rows.set('s', made.created.get('s')!);
    const kek2 = randomBytes(32);
    const rotated = new Vault({ vaultKeys: new Map([[1, kek1], [2, kek2]]), currentVault: { version: 2, key: kek2 } }, store);
    const found = await rotated.dataKeys(['s'], new Map());
    expect(found.keys.get('s')!.equals(made.keys.get('s')!)).toBe(true);
    expect(rotated.wrap(randomBytes(32)).readUInt16BE(0)).toBe(2);
  });

  it('seals as AES-256-GCM that node:crypto opens: format byte, IV, tag, ciphertext, the subject token authenticated', async () => {
    const vault = new Vault(keys, memoryStore());
    const dek = (await vault.dataKeys(['subj-ü'], new Map())).keys.get('subj-ü')!;
    // Short and long values: the addon encodes strings on its stack up to 2 KiB and on the heap beyond.
    for (const value of ['Zoë', 'Ω'.repeat(3000)]) {
      const sealed = vault.seal(dek, 'subj-ü', { name: value });
      expect(sealed[0]).toBe(1);
      const decipher = createDecipheriv('aes-256-gcm', dek, sealed.subarray(1, 13)).setAAD(Buffer.from('subj-ü')).setAuthTag(sealed.subarray(13, 29));
      const plain = Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
      expect(JSON.parse(plain)).toEqual({ name: value });
    }
    // Fresh IVs: the same values twice seal differently.
    expect(vault.seal(dek, 'subj-ü', { name: 'Zoë' }).equals(vault.seal(dek, 'subj-ü', { name: 'Zoë' }))).toBe(false);
  });

  it('wraps a data key as version ‖ IV ‖ tag ‖ AES-256-GCM under the KEK, the version authenticated', () => {
    const vault = new Vault(keys, memoryStore());
    const dek = randomBytes(32);
    const wrapped = vault.wrap(dek);
    expect(wrapped.length).toBe(2 + 12 + 16 + 32);
    const decipher = createDecipheriv('aes-256-gcm', kek1, wrapped.subarray(2, 14)).setAAD(wrapped.subarray(0, 2)).setAuthTag(wrapped.subarray(14, 30));
    expect(Buffer.concat([decipher.update(wrapped.subarray(30)), decipher.final()]).equals(dek)).toBe(true);
    const relabelled = Buffer.from(wrapped);
    relabelled.writeUInt16BE(2, 0);
    const other = new Vault({ vaultKeys: new Map([[1, kek1], [2, kek1]]), currentVault: { version: 1, key: kek1 } }, memoryStore());
    expect(() => other.unwrap(relabelled)).toThrow();
    expect(other.unwrap(wrapped).equals(dek)).toBe(true);
  });

  it('seals on worker threads too, each with its own cipher context, while the main thread seals', async () => {
    const dek = randomBytes(32);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const native = require('@veilgate/native-crypto');
      const out = [];
      for (let i = 0; i < 2000; i++) out.push(native.sealGcm(workerData.dek, Buffer.alloc(12, i % 256), 'subj-' + i, 'value-' + i, Buffer.of(1)));
      parentPort.postMessage(out.map((b) => b.toString('base64')));`;
    const workers = [0, 1].map(() => new Worker(source, { eval: true, workerData: { dek } }));
    const vault = new Vault(keys, memoryStore());
    for (let i = 0; i < 2000; i++) vault.sealJson(dek, `subj-${i}`, `"value-${i}"`);
    for (const sealedList of await Promise.all(workers.map((w) => new Promise<string[]>((resolve, reject) => w.once('message', resolve).once('error', reject))))) {
      sealedList.forEach((b64, i) => {
        const sealed = Buffer.from(b64, 'base64');
        const decipher = createDecipheriv('aes-256-gcm', dek, sealed.subarray(1, 13)).setAAD(Buffer.from(`subj-${i}`)).setAuthTag(sealed.subarray(13, 29));
        expect(Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString()).toBe(`value-${i}`);
      });
    }
    await Promise.all(workers.map((w) => w.terminate()));
  });

  it('the addon refuses a key, an IV or arguments of the wrong shape with a fixed message, never the bytes', () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return { code: (e as { code?: string }).code, message: (e as Error).message };
      }
      throw new Error('not refused');
    };
    const iv = Buffer.alloc(12);
    expect(refusal(() => nativeCrypto.sealGcm(Buffer.alloc(16, 0x41), iv, 'subj', 'Zebulonia', Buffer.of(1)))).toEqual({ code: 'ERR_VEILGATE_CRYPTO', message: 'AES-256-GCM needs a 32-byte key' });
    expect(refusal(() => nativeCrypto.sealGcm(randomBytes(32), Buffer.alloc(16), 'subj', 'Zebulonia', Buffer.of(1)))).toEqual({ code: 'ERR_VEILGATE_CRYPTO', message: 'AES-256-GCM needs a 12-byte IV here' });
    expect(refusal(() => (nativeCrypto.sealGcm as (...a: unknown[]) => Buffer)(randomBytes(32), iv, 'subj', 'Zebulonia'))).toEqual({ code: 'ERR_VEILGATE_CRYPTO', message: 'sealGcm(key, iv, aad, plaintext, header) takes five arguments' });
    expect(refusal(() => nativeCrypto.sealGcm(randomBytes(32), iv, 'subj', 42 as unknown as string, Buffer.of(1)))).toEqual({ code: 'ERR_VEILGATE_CRYPTO', message: 'plaintext must be a string or a Buffer' });
    expect(refusal(() => nativeCrypto.hmacKey(Buffer.alloc(65)))).toEqual({ code: 'ERR_VEILGATE_CRYPTO', message: 'an HMAC key longer than a SHA-256 block must be hashed first' });
  });
});
