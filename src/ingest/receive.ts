import type { RecordKind } from '../config/types.js';
import type { Deps } from '../deps.js';
import { GatewayError } from '../errors/gateway-error.js';
import { newId } from '../lib/ids.js';
import { duplicateAck, type Ack } from '../pipeline/ack.js';
import type { FileRow } from '../store/store.js';
import { removeSpooled, spoolBytes } from './spool.js';

export interface Delivery {
  source: string;
  kind: RecordKind;
  channel: FileRow['channel'];
  /** 'pgp' unless said otherwise. */
  envelope?: FileRow['envelope'];
  /** For display only: never trusted for anything else. */
  fileName: string;
  bytes: AsyncIterable<Uint8Array>;
  /** A tighter size limit than limits.maxFileBytes (an API route's own). */
  maxBytes?: number;
}

export type Receipt =
  /** Spooled and recorded; process it (or resume it: the same bytes were in progress). */
  | { outcome: 'process'; receiptId: string; sha256: string; sizeBytes: number }
  /** The same bytes were already committed for this source. */
  | { outcome: 'duplicate'; receiptId: string; sha256: string; sizeBytes: number; ack: Ack };

/**
 * Where every front end ends (SFTP poller, HTTP upload, `veilgate ingest`): the bytes are spooled and
 * hashed, and the receipt recorded with its audit entry, before any stage looks at them.
 * @throws GatewayError SOURCE_UNKNOWN, KIND_NOT_ALLOWED, SPOOL_*
 */
export async function receiveDelivery(deps: Deps, delivery: Delivery): Promise<Receipt> {
  const source = deps.config.sources[delivery.source];
  if (source === undefined) throw new GatewayError('SOURCE_UNKNOWN', { source: delivery.source });
  if (!source.allowedKinds.includes(delivery.kind)) throw new GatewayError('KIND_NOT_ALLOWED', { source: delivery.source, kind: delivery.kind });

  const receivedAt = deps.clock.now();
  const receiptId = newId('rcpt', receivedAt);
  const spooled = await spoolBytes(delivery.bytes, { spoolDir: deps.spoolDir, source: delivery.source, receiptId, maxFileBytes: Math.min(delivery.maxBytes ?? Infinity, deps.config.limits.maxFileBytes) });
  const file = {
    receiptId, source: delivery.source, kind: delivery.kind, channel: delivery.channel, envelope: delivery.envelope ?? 'pgp', fileName: delivery.fileName,
    sha256: spooled.sha256, sizeBytes: spooled.sizeBytes, spoolPath: spooled.path, receivedAt: receivedAt.toISOString(),
  };
  const result = await deps.store.receiveFile(file, {
    actor: `source:${delivery.source}`, action: 'file.received', target: receiptId,
    details: { channel: delivery.channel, kind: delivery.kind, sha256: spooled.sha256, sizeBytes: spooled.sizeBytes },
  });
  const facts = { sha256: spooled.sha256, sizeBytes: spooled.sizeBytes };
  if (result.outcome === 'new') return { outcome: 'process', receiptId, ...facts };

  // The same bytes are already here: keep one spooled copy.
  await removeSpooled(spooled.path);
  const existing = result.file;
  if (existing.state !== 'committed') return { outcome: 'process', receiptId: existing.receiptId, ...facts };
  const ack = duplicateAck(file, JSON.parse(existing.ack!) as Ack);
  await deps.store.recordDuplicate({ ...file, spoolPath: existing.spoolPath, duplicateOf: existing.receiptId, ack: JSON.stringify(ack) }, {
    actor: `source:${delivery.source}`, action: 'file.duplicate', target: receiptId, details: { duplicateOf: existing.receiptId, sha256: spooled.sha256 },
  });
  return { outcome: 'duplicate', receiptId, ack, ...facts };
}
