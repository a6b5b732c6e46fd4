import { createHash } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { RecordKind } from '../../config/types.js';
import type { Deps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { receiveDelivery } from '../../ingest/receive.js';
import type { Ack } from '../../pipeline/ack.js';
import { isFinal } from '../../pipeline/file-states.js';
import { processFile } from '../../pipeline/process-file.js';
import { callerOf, requireRole, type credentialsFrom } from '../auth.js';
import type { Metrics } from '../metrics.js';
import { rateLimit } from '../rate-limit.js';

const kinds: readonly RecordKind[] = ['placement', 'recall', 'update'];
const idempotencyKeyShape = /^[A-Za-z0-9_.:-]{8,128}$/;
const fileNameShape = /^[A-Za-z0-9._-]{1,200}$/;

export interface SourceRouteDeps {
  deps: Deps;
  credentials: ReturnType<typeof credentialsFrom>;
  metrics: Metrics;
  /** Files being processed in the background (202 answers), so shutdown can wait for them. */
  background: Set<Promise<unknown>>;
}

/**
 * Routes for creditors: upload an OpenPGP file or a JOSE record batch, poll a receipt. Every upload
 * streams into the spool and goes through the same pipeline as SFTP and `veilgate ingest`.
 */
export function sourceRoutes(r: SourceRouteDeps): Router {
  const { deps } = r;
  const router = Router();
  const auth = [requireRole(r.credentials, 'source'), rateLimit(deps.config.api.rateLimitPerMinute, deps.clock)];

  router.post('/v1/files', ...auth, async (req, res) => {
    const caller = callerOf(res);
    const kind = kindParam(req);
    const key = idempotencyKey(req);
    checkDeclaredSize(req, Math.min(deps.config.api.maxUploadBytes, deps.config.limits.maxFileBytes));
    const name = req.header('x-veilgate-file-name');
    await upload(r, req, res, { source: caller.id, kind, key, envelope: 'pgp', fileName: name !== undefined && fileNameShape.test(name) ? name : 'upload.pgp' });
  });

  // A JOSE batch is small and bounded: it is opened before it is spooled, so that every abuse (alg
  // confusion, a zip bomb, another source's signature …) is answered with its code and stores nothing.
  const joseBody = express.text({ type: () => true, limit: deps.config.api.maxJoseBytes + 1024 });
  router.post('/v1/records', ...auth, joseBody, async (req, res) => {
    const caller = callerOf(res);
    const key = idempotencyKey(req);
    const body = typeof req.body === 'string' ? req.body : '';
    const sha256 = createHash('sha256').update(body).digest('hex');
    const seen = await deps.store.findIdempotencyKey(caller.id, key);
    if (seen !== null) {
      if (sha256 !== seen.bodySha256) throw new GatewayError('IDEMPOTENCY_CONFLICT');
      return replay(r, res, seen.receiptId);
    }
    const opened = await deps.jose.openRecords(body.trim(), caller.id);
    await upload(r, req, res, { source: caller.id, kind: opened.kind, key, envelope: 'jose', fileName: 'records.jwe', bytes: [Buffer.from(body)] });
  });

  router.get('/v1/receipts/:id', ...auth, async (req, res) => {
    const file = await deps.store.getFile(String(req.params.id));
    // Another source's receipt is not found, rather than forbidden: its existence is not ours to tell.
    if (file === null || file.source !== callerOf(res).id) throw new GatewayError('NOT_FOUND');
    if (!isFinal(file.state)) return void res.status(202).json(pending(file.receiptId));
    sendAck(res, JSON.parse(file.ack!) as Ack);
  });

  return router;
}

async function upload(
  r: SourceRouteDeps, req: Request, res: Response,
  u: { source: string; kind: RecordKind; key: string; envelope: 'pgp' | 'jose'; fileName: string; bytes?: AsyncIterable<Uint8Array> | Iterable<Uint8Array> },
): Promise<void> {
  const { deps } = r;
  const source = deps.config.sources[u.source]!;
  if (!source.allowedKinds.includes(u.kind)) throw new GatewayError('KIND_NOT_ALLOWED', { kind: u.kind });
  const maxBytes = u.envelope === 'jose' ? deps.config.api.maxJoseBytes : Math.min(deps.config.api.maxUploadBytes, deps.config.limits.maxFileBytes);

  // A key seen before: the same body replays the first answer; another body is a conflict.
  const seen = u.bytes === undefined ? await deps.store.findIdempotencyKey(u.source, u.key) : null;
  if (seen !== null) {
    const sha256 = await hashBody(req, maxBytes);
    if (sha256 !== seen.bodySha256) throw new GatewayError('IDEMPOTENCY_CONFLICT');
    return replay(r, res, seen.receiptId);
  }

  let receipt: Awaited<ReturnType<typeof receiveDelivery>>;
  try {
    receipt = await receiveDelivery(deps, { source: u.source, kind: u.kind, channel: 'api', envelope: u.envelope, fileName: u.fileName, bytes: toAsync(u.bytes ?? req), maxBytes });
  } catch (e) {
    if (e instanceof GatewayError && e.code === 'SPOOL_TOO_LARGE') throw new GatewayError('REQUEST_TOO_LARGE', { maxBytes }, { cause: e });
    throw e;
  }
  const earlier = await deps.store.claimIdempotencyKey(u.source, u.key, receipt.sha256, receipt.receiptId);
  if (earlier !== null && earlier.bodySha256 !== receipt.sha256) throw new GatewayError('IDEMPOTENCY_CONFLICT');
  if (earlier !== null) return replay(r, res, earlier.receiptId);
  if (receipt.outcome === 'duplicate') return sendAck(res, receipt.ack);

  if (receipt.sizeBytes > deps.config.api.syncMaxBytes) {
    const work = processFile(deps, receipt.receiptId)
      .then((ack) => r.metrics.recordAck(ack))
      .catch((err: unknown) => deps.log.error({ err, receiptId: receipt.receiptId }, 'background processing failed; the file will be replayed'))
      .finally(() => r.background.delete(work));
    r.background.add(work);
    res.status(202).setHeader('Location', `/v1/receipts/${receipt.receiptId}`);
    return void res.json(pending(receipt.receiptId));
  }
  const ack = await processFile(deps, receipt.receiptId);
  r.metrics.recordAck(ack);
  sendAck(res, ack);
}

async function replay(r: SourceRouteDeps, res: Response, receiptId: string): Promise<void> {
  const file = await r.deps.store.getFile(receiptId);
  if (file === null) throw new GatewayError('NOT_FOUND');
  if (!isFinal(file.state)) return void res.status(202).json(pending(receiptId));
  sendAck(res, JSON.parse(file.ack!) as Ack);
}

/** A rejected file is still an acknowledgement, but not a success: 422 lets clients branch on status alone. */
function sendAck(res: Response, ack: Ack): void {
  res.status(ack.status === 'rejected' ? 422 : 200).json(ack);
}

async function* toAsync(bytes: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* bytes;
}

function pending(receiptId: string) {
  return { receipt_id: receiptId, status: 'processing', receipt_url: `/v1/receipts/${receiptId}` };
}

function kindParam(req: Request, fallback?: RecordKind): RecordKind {
  const kind = typeof req.query.kind === 'string' ? req.query.kind : fallback;
  if (kind === undefined || !kinds.includes(kind as RecordKind)) throw new GatewayError('USAGE_INVALID', { reason: 'query parameter kind must be placement, recall or update' });
  return kind as RecordKind;
}

function idempotencyKey(req: Request): string {
  const key = req.header('idempotency-key');
  if (key === undefined || !idempotencyKeyShape.test(key)) throw new GatewayError('IDEMPOTENCY_KEY_REQUIRED');
  return key;
}

/** Refuses at once a body whose declared length is over the limit, before reading a byte of it. */
function checkDeclaredSize(req: Request, maxBytes: number): void {
  const declared = Number(req.header('content-length') ?? '0');
  if (declared > maxBytes) throw new GatewayError('REQUEST_TOO_LARGE', { maxBytes });
}

async function hashBody(req: Request, maxBytes: number): Promise<string> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new GatewayError('REQUEST_TOO_LARGE', { maxBytes });
    hash.update(chunk);
  }
  return hash.digest('hex');
}
