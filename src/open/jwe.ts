import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import nodeJose from 'node-jose';
import type { RecordKind } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';

/**
 * The one door for JOSE (POST /v1/records): a compact JWE to the gateway (RFC 7516) whose plaintext
 * is a compact JWS by the source (RFC 7515) over `{ "kind", "records" }`. Every check that needs no
 * key runs first, on the parsed headers, so that abuse costs nothing (RFC 8725 §2, §3.1).
 */
export interface JoseLimits {
  /** Largest compact JWE accepted, in bytes. */
  maxTokenBytes: number;
  /** Largest plaintext a `zip: "DEF"` JWE may inflate to, in bytes. */
  maxInflatedBytes: number;
  /** Tolerance for `iat`, `nbf` and `exp`, in seconds. */
  clockSkewSeconds: number;
}

export interface JoseKeys {
  gateway: nodeJose.JWK.KeyStore;
  sources: ReadonlyMap<string, nodeJose.JWK.Key[]>;
}

// RFC 8725 §3.1: an explicit allowlist. No `none`, no HS* (a public key used as an HMAC secret), no
// PBES2 (a huge p2c costs us the key derivation), no RSA1_5 (Bleichenbacher), no `dir`.
const jweAlgs = new Set(['RSA-OAEP-256', 'ECDH-ES+A256KW']);
const jweEncs = new Set(['A256GCM']);
const jwsAlgs = new Set(['ES256', 'RS256']);
const kinds = new Set<RecordKind>(['placement', 'recall', 'update']);
const base64url = /^[A-Za-z0-9_-]*$/;

export async function loadJoseKeys(gatewayJwksFile: string, sourceJwkFiles: ReadonlyMap<string, readonly string[]>): Promise<JoseKeys> {
  const gatewayJwks = JSON.parse(readFileSync(gatewayJwksFile, 'utf8')) as { keys: Array<{ use?: string }> };
  const gateway = await nodeJose.JWK.asKeyStore({ keys: gatewayJwks.keys.filter((k) => k.use === 'enc') });
  const sources = new Map<string, nodeJose.JWK.Key[]>();
  for (const [source, files] of sourceJwkFiles) {
    const keys: nodeJose.JWK.Key[] = [];
    for (const file of files) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { keys?: object[] };
      for (const jwk of parsed.keys ?? [parsed]) keys.push(await nodeJose.JWK.asKey(jwk));
    }
    sources.set(source, keys);
  }
  return { gateway, sources };
}

/**
 * Decrypts and verifies a source's record batch.
 * @throws GatewayError JOSE_MALFORMED, JOSE_TOO_LARGE, JOSE_ALG_NOT_ALLOWED, JOSE_CRIT_UNSUPPORTED,
 *   JOSE_DECRYPT_FAILED, JOSE_SIGNATURE_INVALID, JOSE_EXPIRED, JOSE_PAYLOAD_INVALID
 */
export async function openJoseRecords(compact: string, source: string, keys: JoseKeys, limits: JoseLimits, now: Date): Promise<{ kind: RecordKind; records: Array<Record<string, unknown>>; signerKid: string }> {
  if (Buffer.byteLength(compact) > limits.maxTokenBytes) throw new GatewayError('JOSE_TOO_LARGE', { maxBytes: limits.maxTokenBytes });
  const jweHeader = protectedHeader(compact, 5);
  if (!jweAlgs.has(String(jweHeader.alg)) || !jweEncs.has(String(jweHeader.enc))) throw new GatewayError('JOSE_ALG_NOT_ALLOWED');
  refuseCrit(jweHeader);
  if (jweHeader.zip !== undefined && jweHeader.zip !== 'DEF') throw new GatewayError('JOSE_ALG_NOT_ALLOWED');

  let plaintext: Buffer;
  try {
    const decrypted = await nodeJose.JWE.createDecrypt(keys.gateway, {
      algorithms: [...jweAlgs, ...jweEncs],
      // node-jose would inflate zip:DEF with no bound; taking `zip` out of the parsed header here stops it
      // (the protected header it authenticates is the raw base64url segment, not this object).
      handlers: { zip: { prepare: (jwe: { header: Record<string, unknown> }) => void delete jwe.header.zip } },
    }).decrypt(compact);
    plaintext = decrypted.plaintext;
  } catch (cause) {
    throw new GatewayError('JOSE_DECRYPT_FAILED', undefined, { cause });
  }
  if (jweHeader.zip === 'DEF') plaintext = inflateBounded(plaintext, limits.maxInflatedBytes);

  const jws = plaintext.toString('utf8');
  const jwsHeader = protectedHeader(jws, 3);
  if (!jwsAlgs.has(String(jwsHeader.alg))) throw new GatewayError('JOSE_ALG_NOT_ALLOWED');
  refuseCrit(jwsHeader);
  const verified = await verifyWithAny(jws, keys.sources.get(source) ?? []);
  const payload = parsePayload(verified.payload);
  checkTimes(payload, now, limits.clockSkewSeconds);
  return { kind: payload.kind, records: payload.records, signerKid: verified.kid };
}

function protectedHeader(compact: string, parts: 3 | 5): Record<string, unknown> {
  const segments = compact.split('.');
  if (segments.length !== parts || !segments.every((s) => base64url.test(s))) throw new GatewayError('JOSE_MALFORMED', { parts });
  try {
    const header = JSON.parse(Buffer.from(segments[0]!, 'base64url').toString('utf8')) as unknown;
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new Error('not an object');
    return header as Record<string, unknown>;
  } catch (cause) {
    throw new GatewayError('JOSE_MALFORMED', { parts }, { cause });
  }
}

/** RFC 7515 §4.1.11: a recipient that does not understand a critical extension must reject. We understand none. */
function refuseCrit(header: Record<string, unknown>): void {
  if (header.crit !== undefined) throw new GatewayError('JOSE_CRIT_UNSUPPORTED');
}

function inflateBounded(deflated: Buffer, maxBytes: number): Buffer {
  try {
    return inflateRawSync(deflated, { maxOutputLength: maxBytes });
  } catch (cause) {
    const tooLarge = (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new GatewayError(tooLarge ? 'JOSE_TOO_LARGE' : 'JOSE_DECRYPT_FAILED', tooLarge ? { maxBytes } : undefined, { cause });
  }
}

/** A signature by any registered key of this source; a valid signature by another source's key fails here. */
async function verifyWithAny(jws: string, keys: readonly nodeJose.JWK.Key[]): Promise<{ payload: Buffer; kid: string }> {
  for (const key of keys) {
    try {
      const result = await nodeJose.JWS.createVerify(key, { algorithms: [...jwsAlgs], allowEmbeddedKey: false }).verify(jws);
      return { payload: result.payload, kid: key.kid };
    } catch {
      // try the next registered key (rotation keeps several)
    }
  }
  throw new GatewayError('JOSE_SIGNATURE_INVALID');
}

function parsePayload(bytes: Buffer): { kind: RecordKind; records: Array<Record<string, unknown>>; iat?: unknown; nbf?: unknown; exp?: unknown } {
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new GatewayError('JOSE_PAYLOAD_INVALID', { reason: 'not JSON' }, { cause });
  }
  const p = payload as { kind?: unknown; records?: unknown };
  if (payload === null || typeof payload !== 'object' || !kinds.has(p.kind as RecordKind) || !Array.isArray(p.records)
    || !p.records.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) {
    throw new GatewayError('JOSE_PAYLOAD_INVALID', { reason: 'expected {"kind": "placement"|"recall"|"update", "records": [objects]}' });
  }
  return payload as { kind: RecordKind; records: Array<Record<string, unknown>> };
}

/** RFC 7519 §4.1.4–4.1.6, when present, with the configured clock skew. */
function checkTimes(payload: { iat?: unknown; nbf?: unknown; exp?: unknown }, now: Date, skewSeconds: number): void {
  const t = now.getTime() / 1000;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const exp = num(payload.exp);
  const nbf = num(payload.nbf);
  const iat = num(payload.iat);
  if ((exp !== undefined && t > exp + skewSeconds) || (nbf !== undefined && t < nbf - skewSeconds) || (iat !== undefined && iat > t + skewSeconds)) {
    throw new GatewayError('JOSE_EXPIRED');
  }
}
