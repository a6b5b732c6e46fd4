import { readFile } from 'node:fs/promises';
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

/** The keys JOSE needs, loaded once at start by {@link loadJoseKeys}. */
export interface JoseKeys {
  /** The gateway's private JWE keys: only those marked `use: "enc"` (RFC 7517 §4.2). */
  gateway: nodeJose.JWK.KeyStore;
  /** Each source's registered public signing keys, by source id; several during a rotation. */
  sources: ReadonlyMap<string, nodeJose.JWK.Key[]>;
}

/** What a good token carries: the batch and which registered key signed it (for the audit trail). */
export interface OpenedJoseRecords {
  kind: RecordKind;
  records: Array<Record<string, unknown>>;
  /** The `kid` of the source key whose signature verified. */
  signerKid: string;
}

// RFC 8725 §3.1: an explicit allowlist, never "whatever the header says". Left out on purpose (RFC 7518):
// `none` (§3.6, no signature at all); HS* (§3.2: a public key used as the HMAC secret forges signatures);
// RSA1_5 (§4.2, Bleichenbacher padding oracle); PBES2-* (§4.8: a huge p2c makes us pay for the key
// derivation; RFC 8725 §3.1); `dir` and A*KW (§4.5, §4.4: we hold no shared symmetric key).
const jweAlgs = new Set(['RSA-OAEP-256', 'ECDH-ES+A256KW']);
const jweEncs = new Set(['A256GCM']);
const jwsAlgs = new Set(['ES256', 'RS256']);
const kinds = new Set<string>(['placement', 'recall', 'update'] satisfies RecordKind[]);
// RFC 7515 §2 / RFC 7516 §2: base64url without padding.
const base64url = /^[A-Za-z0-9_-]*$/;

/**
 * Loads the gateway's private JWKS file and each source's public JWK (or JWKS) files.
 *
 * Only the gateway keys marked `use: "enc"` may unwrap a content key; the gateway's signing key is left
 * out. Source keys are kept as public halves even if a file holds a private JWK, and each needs a `kid`,
 * because the `kid` of the key that verified is what the audit trail records.
 * @param gatewayJwksFile path of the gateway's private JWKS (`{ "keys": [...] }`)
 * @param sourceJwkFiles source id → paths of that source's JWK or JWKS files
 * @throws GatewayError KEY_UNAVAILABLE naming the config key (`keys.jwksFile`, `sources.<id>.jwkPublicKeyFiles.<i>`)
 */
export async function loadJoseKeys(gatewayJwksFile: string, sourceJwkFiles: ReadonlyMap<string, readonly string[]>): Promise<JoseKeys> {
  const where = 'keys.jwksFile';
  const encKeys = (await readJwks(gatewayJwksFile, where)).filter((k) => k.use === 'enc');
  if (encKeys.length === 0) throw new GatewayError('KEY_UNAVAILABLE', { key: where, reason: 'no JWK with use "enc"' });
  let gateway: nodeJose.JWK.KeyStore;
  try {
    gateway = await nodeJose.JWK.asKeyStore({ keys: encKeys });
  } catch (cause) {
    throw new GatewayError('KEY_UNAVAILABLE', { key: where }, { cause });
  }

  const sources = new Map<string, nodeJose.JWK.Key[]>();
  for (const [source, files] of sourceJwkFiles) {
    const keys: nodeJose.JWK.Key[] = [];
    for (const [i, file] of files.entries()) {
      const at = `sources.${source}.jwkPublicKeyFiles.${i}`;
      for (const jwk of await readJwks(file, at)) {
        if (jwk.use !== undefined && jwk.use !== 'sig') continue; // RFC 7517 §4.2: not a signing key
        if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new GatewayError('KEY_UNAVAILABLE', { key: at, reason: 'every signing JWK needs a kid' });
        keys.push(await publicHalf(jwk, at));
      }
    }
    sources.set(source, keys);
  }
  return { gateway, sources };
}

/**
 * Decrypts a compact JWE addressed to the gateway whose plaintext is a compact JWS signed by `source`'s
 * registered key, over JSON `{ "kind": "placement"|"recall"|"update", "records": [ {...}, ... ] }`.
 * Extra top-level claims (`iat`, `exp`, `nbf`, `jti`) are allowed; numeric time claims are enforced.
 * Nothing is logged, and no error carries anything taken from the token.
 * @param compact the request body: a compact JWE (RFC 7516 §7.1)
 * @param source the authenticated source id whose registered keys must have signed
 * @param now the current time (a dependency, so that tests can move it)
 * @throws GatewayError JOSE_MALFORMED, JOSE_TOO_LARGE, JOSE_ALG_NOT_ALLOWED, JOSE_CRIT_UNSUPPORTED,
 *   JOSE_DECRYPT_FAILED, JOSE_SIGNATURE_INVALID, JOSE_EXPIRED, JOSE_PAYLOAD_INVALID
 */
export async function openJoseRecords(compact: string, source: string, keys: JoseKeys, limits: JoseLimits, now: Date): Promise<OpenedJoseRecords> {
  // Size first: nothing else is worth doing on a body past the cap.
  if (Buffer.byteLength(compact) > limits.maxTokenBytes) throw new GatewayError('JOSE_TOO_LARGE', { maxBytes: limits.maxTokenBytes });
  const jweHeader = protectedHeader(compact, 5);
  if (!jweAlgs.has(String(jweHeader.alg)) || !jweEncs.has(String(jweHeader.enc))) throw new GatewayError('JOSE_ALG_NOT_ALLOWED');
  refuseCrit(jweHeader);
  // RFC 7516 §4.1.3: "DEF" is the only registered zip value.
  if (jweHeader.zip !== undefined && jweHeader.zip !== 'DEF') throw new GatewayError('JOSE_ALG_NOT_ALLOWED');

  let plaintext: Buffer;
  try {
    const decrypted = await nodeJose.JWE.createDecrypt(keys.gateway, {
      // node-jose's default is "*" (lib/jwe/decrypt.js DEFAULT_OPTIONS); we checked already, this is the second lock.
      algorithms: [...jweAlgs, ...jweEncs],
      // node-jose inflates zip:DEF with pako and no bound, after the tag checks. A `prepare` handler runs just
      // before the content decryption and takes `zip` out of node-jose's merged copy of the header, so it
      // returns the deflated bytes and we inflate them with a cap. The AAD is the raw base64url protected
      // header segment (RFC 7516 §5.2: ASCII(Encoded Protected Header)), not this object, so integrity is unchanged.
      handlers: { zip: { prepare: (jwe: { header: Record<string, unknown> }) => void delete jwe.header.zip } },
    }).decrypt(compact);
    plaintext = decrypted.plaintext;
  } catch (cause) {
    // Wrong key, tampered ciphertext, tag or header: one code, so that the answer is no oracle (RFC 7516 §11.4, RFC 7518 §4.2-4.3).
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

/** A JWK file holds one JWK or a JWKS (RFC 7517 §5). */
async function readJwks(file: string, where: string): Promise<Array<Record<string, unknown>>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { keys?: unknown };
    const list: unknown[] = Array.isArray(parsed.keys) ? parsed.keys : [parsed];
    if (!list.every((k) => k !== null && typeof k === 'object' && !Array.isArray(k))) throw new Error('not a JWK or JWKS');
    return list as Array<Record<string, unknown>>;
  } catch (cause) {
    throw new GatewayError('KEY_UNAVAILABLE', { key: where }, { cause });
  }
}

async function publicHalf(jwk: Record<string, unknown>, where: string): Promise<nodeJose.JWK.Key> {
  try {
    // toJSON() without `true` leaves the private members out: a source's private key never sits in memory here.
    return await nodeJose.JWK.asKey((await nodeJose.JWK.asKey(jwk)).toJSON());
  } catch (cause) {
    throw new GatewayError('KEY_UNAVAILABLE', { key: where }, { cause });
  }
}

/** Parses the protected header of a compact JWE (5 parts) or JWS (3 parts) without touching any key. */
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

/** RFC 7515 §4.1.11, RFC 7516 §4.1.13: a recipient that does not understand a critical extension must reject. We understand none. */
function refuseCrit(header: Record<string, unknown>): void {
  if (header.crit !== undefined) throw new GatewayError('JOSE_CRIT_UNSUPPORTED');
}

/** RFC 7516 §4.1.3 (RFC 1951 raw DEFLATE), stopped as soon as the output passes `maxBytes`. */
function inflateBounded(deflated: Buffer, maxBytes: number): Buffer {
  try {
    return inflateRawSync(deflated, { maxOutputLength: maxBytes });
  } catch (cause) {
    const tooLarge = (cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    // A stream that will not inflate passed the tag check, so the sender wrote it: not a DEFLATE payload.
    throw new GatewayError(tooLarge ? 'JOSE_TOO_LARGE' : 'JOSE_DECRYPT_FAILED', tooLarge ? { maxBytes } : undefined, { cause });
  }
}

/** A signature by any registered key of this source; a valid signature by another source's key fails here. */
async function verifyWithAny(jws: string, keys: readonly nodeJose.JWK.Key[]): Promise<{ payload: Buffer; kid: string }> {
  for (const key of keys) {
    try {
      // allowEmbeddedKey: false: a `jwk`/`x5c` header never brings its own key (RFC 7515 §4.1.3, RFC 8725 §3.10).
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
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload) || typeof p.kind !== 'string' || !kinds.has(p.kind)
    || !Array.isArray(p.records) || !p.records.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))) {
    throw new GatewayError('JOSE_PAYLOAD_INVALID', { reason: 'expected {"kind": "placement"|"recall"|"update", "records": [objects]}' });
  }
  return payload as { kind: RecordKind; records: Array<Record<string, unknown>> };
}

/** RFC 7519 §4.1.4–4.1.6, when present and numeric (NumericDate, seconds), with the configured clock skew. */
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
