import { hash } from 'node:crypto';
import { canonicalJson, entryHash, genesisHash, type AuditEntry } from './chain.js';
import { verifyCheckpoint, type Checkpoint, type CheckpointClaims } from './checkpoint.js';

/**
 * The audit export (NDJSON), made to be verified offline with the gateway's public JWKS alone:
 *
 *   {"type":"export","version":1,"from":F,"to":T,"start":{"seq":F-1,"hash":<prev_hash of F>}}
 *   {"type":"checkpoint","seq":…,"hash":…,"at":…,"jws":…}        every checkpoint up to the head
 *   {"type":"entry","seq":…,"at":…,"actor":…,"action":…,"target":…,"prev_hash":…,"hash":…,"details":{…}}
 *
 * `details` comes last and in canonical form (keys sorted at every depth), byte for byte what the
 * hash covers, so a verifier may hash the bytes as they stand instead of re-serialising them: a
 * changed byte changes the hash, so this is as strict as parsing, and several times faster.
 *
 * Checkpoints (those within the range) come first so that a verifier streaming the entries knows which
 * hashes to compare, whatever the export's length; one that names an entry the export lacks exposes a
 * truncated tail.
 */
export async function* exportLines(
  source: { readAudit(from: number, to: number): Promise<AuditEntry[]>; auditHead(): Promise<{ seq: number }>; listCheckpoints(fromSeq: number, toSeq: number): Promise<Checkpoint[]> },
  range: { from?: number; to?: number } = {},
): AsyncGenerator<string> {
  const head = (await source.auditHead()).seq;
  const from = Math.max(1, range.from ?? 1);
  const to = Math.min(head, range.to ?? head);
  const first = from <= to ? (await source.readAudit(from, from))[0] : undefined;
  yield JSON.stringify({ type: 'export', version: 1, from, to, start: { seq: from - 1, hash: first?.prevHash ?? genesisHash } }) + '\n';
  for (const c of await source.listCheckpoints(from, to)) yield JSON.stringify({ type: 'checkpoint', ...c }) + '\n';
  const page = 5_000;
  for (let seq = from; seq <= to; seq += page) {
    let chunk = '';
    for (const e of await source.readAudit(seq, Math.min(to, seq + page - 1))) {
      const head = JSON.stringify({ type: 'entry', seq: e.seq, at: e.at, actor: e.actor, action: e.action, target: e.target, prev_hash: e.prevHash, hash: e.hash });
      chunk += `${head.slice(0, -1)},"details":${canonicalJson(e.details)}}\n`;
    }
    yield chunk;
  }
}

export type ExportCheck =
  | { ok: true; entries: number; from: number; to: number; head: { seq: number; hash: string }; checkpoints: number; anchored: boolean }
  | { ok: false; firstBadSeq: number; reason: string };

/**
 * Verifies an export with the public keys alone: every entry's hash and link, sequence numbers with
 * no gap, repeat or reordering, every checkpoint's signature and that it matches the entry at its
 * sequence number, no checkpoint beyond the last entry (a truncated tail), and, against checkpoints
 * the officer kept from earlier, no rollback or fork. Streams: memory does not grow with the export.
 */
export async function verifyExport(lines: AsyncIterable<string>, publicJwks: { keys: Array<Record<string, string>> }, kept: readonly string[] = []): Promise<ExportCheck> {
  type Header = { from: number; to: number; start: { seq: number; hash: string } };
  let header = null as Header | null;
  const expected = new Map<number, CheckpointClaims>();
  let position = { seq: 0, hash: genesisHash };
  let entries = 0;
  let checkpoints = 0;
  const bad = (firstBadSeq: number, reason: string): ExportCheck => ({ ok: false, firstBadSeq, reason });

  const keptClaims: CheckpointClaims[] = [];
  for (const jws of kept) {
    const claims = verifyCheckpoint(jws.trim(), publicJwks);
    if (claims === null) return bad(0, 'a kept checkpoint does not verify with the given key');
    keptClaims.push(claims);
  }
  const require = (c: CheckpointClaims, what: string): ExportCheck | null => {
    const earlier = expected.get(c.seq);
    if (earlier !== undefined && earlier.hash !== c.hash) return bad(c.seq, `two ${what}s disagree on the hash at this sequence number (a fork)`);
    expected.set(c.seq, c);
    return null;
  };
  for (const c of keptClaims) {
    const problem = require(c, 'checkpoint');
    if (problem !== null) return problem;
  }

  for await (const line of lines) {
    if (line.trim() === '') continue;
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(entryHead(line) ?? line) as Record<string, unknown>;
    } catch {
      return bad(position.seq + 1, 'a line is not JSON');
    }
    if (header === null) {
      if (record.type !== 'export') return bad(0, 'the export has no header line');
      header = record as unknown as Header;
      position = { seq: header.start.seq, hash: header.start.hash };
      continue;
    }
    if (record.type === 'checkpoint') {
      const claims = verifyCheckpoint(String(record.jws), publicJwks);
      if (claims === null || claims.seq !== record.seq || claims.hash !== record.hash) return bad(Number(record.seq) || 0, 'a checkpoint signature does not verify');
      const problem = require(claims, 'checkpoint');
      if (problem !== null) return problem;
      checkpoints++;
      continue;
    }
    if (record.type !== 'entry') return bad(position.seq + 1, 'a line is neither an entry nor a checkpoint');
    const e = record as unknown as ExportedEntry;
    if (e.seq !== position.seq + 1) return bad(position.seq + 1, e.seq > position.seq + 1 ? 'entry missing' : 'entry out of order or repeated');
    if (e.prev_hash !== position.hash) return bad(e.seq, 'previous hash does not match');
    if (hashOf(e, line) !== e.hash) return bad(e.seq, 'entry hash does not match its content');
    const checkpoint = expected.get(e.seq);
    if (checkpoint !== undefined && checkpoint.hash !== e.hash) return bad(e.seq, 'the entry differs from the signed checkpoint at its sequence number (rewritten history)');
    position = { seq: e.seq, hash: e.hash };
    entries++;
  }
  if (header === null) return bad(0, 'the export is empty');
  if (position.seq !== header.to) return bad(position.seq + 1, 'the export ends before the last entry its header names (truncated)');
  const beyond = [...expected.values()].filter((c) => c.seq > position.seq).sort((a, b) => a.seq - b.seq)[0];
  if (beyond !== undefined) {
    const isKept = keptClaims.some((k) => k.seq === beyond.seq);
    return bad(position.seq + 1, isKept
      ? 'the log ends before a checkpoint you kept: it was rolled back or its tail removed'
      : 'a signed checkpoint names entries after the last one: the tail was removed');
  }
  return { ok: true, entries, from: header.from, to: header.to, head: position, checkpoints, anchored: header.start.seq === 0 || expected.has(header.start.seq) };
}

interface ExportedEntry { seq: number; at: string; actor: string; action: string; target: string; prev_hash: string; hash: string; details?: Record<string, unknown> }

const detailsKey = ',"details":';

/**
 * An entry line without its details, as JSON to parse: only the small fixed fields are parsed.
 * Inside a JSON string every quote is escaped, so the first `,"details":` is the real key.
 */
function entryHead(line: string): string | null {
  if (!line.startsWith('{"type":"entry",')) return null;
  const at = line.indexOf(detailsKey);
  return at < 0 ? null : `${line.slice(0, at)}}`;
}

/** The entry's hash over its details' bytes as they stand in the line (canonical when untouched). */
function hashOf(e: ExportedEntry, line: string): string {
  const at = line.indexOf(detailsKey);
  if (e.details !== undefined || at < 0) return entryHash({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, target: e.target, details: e.details ?? {}, prevHash: e.prev_hash });
  const detailsJson = line.slice(at + detailsKey.length, line.trimEnd().length - 1);
  return hash('sha256', JSON.stringify([e.seq, e.at, e.actor, e.action, e.target, detailsJson, e.prev_hash]), 'hex');
}
