import { createReadStream, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RecordKind } from '../../src/config/types.js';
import { csvRow } from '../../src/demo/sample-placements.js';
import type { Deps } from '../../src/deps.js';
import { receiveDelivery } from '../../src/ingest/receive.js';
import type { Ack } from '../../src/pipeline/ack.js';
import { processFile } from '../../src/pipeline/process-file.js';

/** A good placement row with FORMATS.md's column names; tests override fields. */
export function placementRow(ref: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    account_ref: ref, debt_type: 'credit_card', original_creditor: 'Demo Bank Card Services', delinquency_date: '2025-01-15',
    balance: '1520.75', currency: 'USD', first_name: 'Alex', last_name: 'Sample', country: 'US', ...overrides,
  };
}

/** Writes rows as RFC 4180 CSV with the union of their columns as the header. */
export function writeCsv(path: string, rows: Array<Record<string, string>>, trailer?: string): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  let text = csvRow(columns);
  for (const r of rows) text += csvRow(columns.map((c) => r[c] ?? ''));
  if (trailer !== undefined) text += `${trailer}\r\n`;
  writeFileSync(path, text);
  return path;
}

/** Ingests a file in-process through the same door as the CLI: spool, then the pipeline. */
export async function ingestFile(deps: Deps, path: string, source = 'demo-bank', kind: RecordKind = 'placement'): Promise<Ack> {
  const receipt = await receiveDelivery(deps, { source, kind, channel: 'cli', fileName: basename(path), bytes: createReadStream(path) });
  return receipt.outcome === 'duplicate' ? receipt.ack : processFile(deps, receipt.receiptId);
}

export function tempPath(dir: string, name: string): string {
  return join(dir, name);
}
