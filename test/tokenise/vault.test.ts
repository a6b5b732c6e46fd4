import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Vault, type SubjectKeyStore } from '../../src/tokenise/vault.js';

function memoryStore(): SubjectKeyStore & { rows: Map<string, Buffer> } {
  const rows = new Map<string, Buffer>();
  return {
    rows,
    getSubjectKeys: async (tokens) => new Map(tokens.filter((t) => rows.has(t)).map((t) => [t, rows.get(t)!])),
    ensureSubjectKeys: async (candidates) => {
      for (const [t, k] of candidates) if (!rows.has(t)) rows.set(t, k);
      return new Map([...candidates.keys()].map((t) => [t, rows.get(t)!]));
    },
  };
}

const kek1 = randomBytes(32);
const keys = { vaultKeys: new Map([[1, kek1]]), currentVault: { version: 1, key: kek1 } };

describe('the vault', () => {
  it('seals values under a per-subject key that opens them again, and only for that subject', async () => {
    const store = memoryStore();
    const vault = new Vault(keys, store);
    const dek = (await vault.dataKeys(['subj-a'])).get('subj-a')!;
    const sealed = vault.seal(dek, 'subj-a', { first_name: 'Zebulonia' });
    expect(sealed.includes(Buffer.from('Zebulonia'))).toBe(false);
    expect(vault.open(dek, 'subj-a', sealed)).toEqual({ first_name: 'Zebulonia' });
    expect(() => vault.open(dek, 'subj-b', sealed)).toThrow();
    // The stored key is wrapped, not the data key itself.
    expect(store.rows.get('subj-a')!.includes(dek.export())).toBe(false);
  });

  it('gives a subject one data key, created once, across batches and processes', async () => {
    const store = memoryStore();
    const first = (await new Vault(keys, store).dataKeys(['s'])).get('s')!;
    const second = (await new Vault(keys, store).dataKeys(['s'])).get('s')!;
    expect(second.export().equals(first.export())).toBe(true);
  });

  it('opens data keys wrapped under an older key-encryption key after a rotation', async () => {
    const store = memoryStore();
    const dek = (await new Vault(keys, store).dataKeys(['s'])).get('s')!;
    const kek2 = randomBytes(32);
    const rotated = new Vault({ vaultKeys: new Map([[1, kek1], [2, kek2]]), currentVault: { version: 2, key: kek2 } }, store);
    expect((await rotated.dataKeys(['s'])).get('s')!.export().equals(dek.export())).toBe(true);
    expect(rotated.wrap(dek.export()).readUInt16BE(0)).toBe(2);
  });
});
