import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalJson } from './chain.js';

/** What a checkpoint attests: the chain had this head at this time. */
export interface CheckpointClaims {
  seq: number;
  hash: string;
  at: string;
}

export interface Checkpoint extends CheckpointClaims {
  /** Compact JWS (ES256) over the canonical claims, with the signing key's kid. */
  jws: string;
}

const typ = 'veilgate-audit-checkpoint';

/**
 * Signs and verifies audit checkpoints as compact JWS (RFC 7515), ES256 with the gateway's `sig` key
 * from its JWKS. A verifier needs only the public JWKS: `jose`, or a few lines of WebCrypto.
 */
export class CheckpointSigner {
  private constructor(private readonly kid: string, private readonly key: KeyObject) {}

  static fromJwks(jwksFile: string): CheckpointSigner {
    const jwk = (JSON.parse(readFileSync(jwksFile, 'utf8')) as { keys: Array<Record<string, string>> }).keys
      .find((k) => k.use === 'sig' && k.alg === 'ES256' && k.d !== undefined);
    if (jwk === undefined) throw new Error(`${jwksFile} has no private ES256 signing key (use "sig")`);
    return new CheckpointSigner(jwk.kid!, createPrivateKey({ key: jwk, format: 'jwk' }));
  }

  sign(claims: CheckpointClaims): Checkpoint {
    const header = b64(JSON.stringify({ alg: 'ES256', kid: this.kid, typ }));
    const payload = b64(canonicalJson({ seq: claims.seq, hash: claims.hash, at: claims.at }));
    const signature = sign('sha256', Buffer.from(`${header}.${payload}`), { key: this.key, dsaEncoding: 'ieee-p1363' });
    return { ...claims, jws: `${header}.${payload}.${signature.toString('base64url')}` };
  }
}

/** The claims of a checkpoint whose signature verifies under one of the public keys, or null. */
export function verifyCheckpoint(jws: string, publicJwks: { keys: Array<Record<string, string>> }): CheckpointClaims | null {
  const parts = jws.split('.');
  if (parts.length !== 3) return null;
  let header: { alg?: string; kid?: string; typ?: string };
  try {
    header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as typeof header;
  } catch {
    return null;
  }
  // The algorithm is fixed, not taken from the header: no alg confusion.
  if (header.alg !== 'ES256' || header.typ !== typ) return null;
  const jwk = publicJwks.keys.find((k) => k.kid === header.kid && k.kty === 'EC' && k.crv === 'P-256');
  if (jwk === undefined) return null;
  const { d: _private, ...pub } = jwk;
  const ok = verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key: createPublicKey({ key: pub, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(parts[2]!, 'base64url'));
  if (!ok) return null;
  const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as CheckpointClaims;
  return typeof claims.seq === 'number' && typeof claims.hash === 'string' && typeof claims.at === 'string' ? claims : null;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
