import { randomBytes, type KeyObject } from 'node:crypto';
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
    expect(created.get('subj-a')!.includes(dek.export())).toBe(false);
    expect(vault.openWithWrapped(created.get('subj-a')!, 'subj-a', sealed)).toEqual({ first_name: 'Zebulonia' });
  });

  it('makes a key once per new subject in a file, and finds committed keys instead of making new ones', async () => {
    const store = memoryStore();
    const vault = new Vault(keys, store);
    const pending = new Map<string, KeyObject>();
    const first = await vault.dataKeys(['s'], pending);
    const again = await vault.dataKeys(['s'], pending);
    expect(first.created.size).toBe(1);
    expect(again.created.size).toBe(0);
    expect(again.keys.get('s')!.export().equals(first.keys.get('s')!.export())).toBe(true);
    // Another file, before this one committed, does not see its pending key; after the commit it does.
    expect((await vault.dataKeys(['s'], new Map())).created.size).toBe(1);
    store.rows.set('s', first.created.get('s')!);
    const other = await new Vault(keys, store).dataKeys(['s'], new Map());
    expect(other.created.size).toBe(0);
    expect(other.keys.get('s')!.export().equals(first.keys.get('s')!.export())).toBe(true);
  });

  it('opens data keys wrapped under an older key-encryption key after a rotation', async () => {
    const store = memoryStore();
    const made = await new Vault(keys, store).dataKeys(['s'], new Map());
    store.rows.set('s', made.created.get('s')!);
    const kek2 = randomBytes(32);
    const rotated = new Vault({ vaultKeys: new Map([[1, kek1], [2, kek2]]), currentVault: { version: 2, key: kek2 } }, store);
    const found = await rotated.dataKeys(['s'], new Map());
    expect(found.keys.get('s')!.export().equals(made.keys.get('s')!.export())).toBe(true);
    expect(rotated.wrap(randomBytes(32)).readUInt16BE(0)).toBe(2);
  });
});
