import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Tokeniser } from '../../src/tokenise/tokens.js';

const v1 = randomBytes(32);
const v2 = randomBytes(32);
const one = new Tokeniser({ tokenKeys: new Map([[1, v1]]), currentToken: { version: 1, key: v1 } });
const rotated = new Tokeniser({ tokenKeys: new Map([[1, v1], [2, v2]]), currentToken: { version: 2, key: v2 } });

describe('tokens', () => {
  it('are deterministic per value and domain, and carry their key version', () => {
    expect(one.internal('national_id', '123456789')).toBe(one.internal('national_id', '123456789'));
    expect(one.internal('national_id', '123456789')).toMatch(/^v1\.[A-Za-z0-9_-]{22}$/);
    expect(one.internal('national_id', '123456789')).not.toBe(one.internal('card_number', '123456789'));
    expect(one.internal('national_id', '123456789')).not.toContain('6789');
  });

  it('are the first 128 bits of HMAC-SHA-256(K_internal, domain ‖ 0x00 ‖ value), base64url, as node:crypto computes them', () => {
    const internalKey = createHmac('sha256', v1).update('veilgate/token/internal').digest();
    // Values past 512 bytes too: the addon hashes short ones from its stack, long ones from the heap.
    for (let i = 0; i < 500; i++) {
      const value = i % 100 === 99 ? `demo-bank\0${'ü'.repeat(i * 3)}` : `demo-bank\0ACC-${i}-ü`;
      const mac = createHmac('sha256', internalKey).update('account').update(Buffer.of(0)).update(value, 'utf8').digest();
      expect(one.internal('account', value)).toBe(`v1.${mac.subarray(0, 16).toString('base64url')}`);
    }
  });

  it('differ per recipient, so two recipients cannot join on them, and resolve back only for their own recipient', () => {
    const internal = one.internal('account', 'demo-bank\0ACC-1');
    const collector = one.forRecipient('demo-collector', internal);
    const letters = one.forRecipient('demo-letters', internal);
    expect(collector).not.toBe(letters);
    expect(collector).toBe(one.forRecipient('demo-collector', internal));
    expect(one.fromRecipient('demo-collector', collector)).toBe(internal);
    expect(one.fromRecipient('demo-letters', collector)).not.toBe(internal);
    expect(one.fromRecipient('demo-collector', 'not-a-token')).toBeNull();
  });

  it('encipher each token on its own: the same answers in any order, interleaved with resolving (long-lived ECB ciphers)', () => {
    const internals = Array.from({ length: 200 }, (_, i) => one.internal('account', `demo-bank\0ACC-${i}`));
    const forward = internals.map((t) => one.forRecipient('demo-collector', t));
    const fresh = new Tokeniser({ tokenKeys: new Map([[1, v1]]), currentToken: { version: 1, key: v1 } });
    const backward = [...internals].reverse().map((t) => {
      const token = fresh.forRecipient('demo-collector', t);
      expect(fresh.fromRecipient('demo-collector', token)).toBe(t);
      return token;
    }).reverse();
    expect(backward).toEqual(forward);
    expect(new Set(forward).size).toBe(internals.length);
  });

  it('keep old tokens resolvable after a key rotation, and find values tokenised before it', () => {
    const old = one.internal('account', 'demo-bank\0ACC-1');
    expect(rotated.internal('account', 'demo-bank\0ACC-1')).toMatch(/^v2\./);
    expect(rotated.internalAllVersions('account', 'demo-bank\0ACC-1')).toContain(old);
    const oldRecipientToken = one.forRecipient('demo-collector', old);
    expect(rotated.fromRecipient('demo-collector', oldRecipientToken)).toBe(old);
  });
});
