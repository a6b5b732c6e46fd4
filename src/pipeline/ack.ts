import type { RecordKind } from '../config/types.js';
import type { Rejection } from '../errors/gateway-error.js';
import type { GatewayError } from '../errors/gateway-error.js';
import type { ControlTotalsReport } from '../parse/control-totals.js';
import type { FileRow } from '../store/store.js';

/** The acknowledgement of FORMATS.md (schemas/ack.schema.json). It never carries a value from the file. */
export interface Ack {
  receipt_id: string;
  source: string;
  kind: RecordKind;
  file_name: string;
  sha256: string;
  received_at: string;
  status: 'committed' | 'rejected' | 'duplicate';
  duplicate_of?: string;
  counts: { records: number; accepted: number; rejected: number; warnings: number };
  control_totals: ControlTotalsReport;
  dropped_fields: Record<string, number>;
  errors: Rejection[];
  errors_truncated?: boolean;
  warnings: Rejection[];
  file_error: { code: string; message: string } | null;
}

type FileFacts = Pick<FileRow, 'receiptId' | 'source' | 'kind' | 'fileName' | 'sha256' | 'receivedAt'>;

function base(file: FileFacts) {
  return { receipt_id: file.receiptId, source: file.source, kind: file.kind, file_name: file.fileName, sha256: file.sha256, received_at: file.receivedAt };
}

export function committedAck(
  file: FileFacts,
  facts: { records: number; rejectedRecords: number; warnings: number; controlTotals: ControlTotalsReport; dropped: Map<string, number>; errors: Rejection[]; warningList: Rejection[]; truncated: boolean },
): Ack {
  return {
    ...base(file),
    status: 'committed',
    counts: { records: facts.records, accepted: facts.records - facts.rejectedRecords, rejected: facts.rejectedRecords, warnings: facts.warnings },
    control_totals: facts.controlTotals,
    dropped_fields: Object.fromEntries([...facts.dropped].sort(([a], [b]) => a.localeCompare(b))),
    errors: facts.errors,
    ...(facts.truncated ? { errors_truncated: true } : {}),
    warnings: facts.warningList,
    file_error: null,
  };
}

/**
 * A rejected file commits nothing, and its ack lists no record findings: for a file that failed its
 * integrity or signature check they would be findings about an attacker's plaintext (an oracle).
 */
export function rejectedAck(file: FileFacts, error: GatewayError, controlTotals: ControlTotalsReport | null): Ack {
  return {
    ...base(file),
    status: 'rejected',
    counts: { records: 0, accepted: 0, rejected: 0, warnings: 0 },
    control_totals: controlTotals ?? { record_count: 0, total_balance: null, matched: null },
    dropped_fields: {},
    errors: [],
    warnings: [],
    file_error: { code: error.code, message: error.message },
  };
}

export function duplicateAck(file: FileFacts, original: Ack): Ack {
  return {
    ...base(file),
    status: 'duplicate',
    duplicate_of: original.receipt_id,
    counts: { records: 0, accepted: 0, rejected: 0, warnings: 0 },
    control_totals: original.control_totals,
    dropped_fields: {},
    errors: [],
    warnings: [],
    file_error: null,
  };
}
