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
  | { ok: true; entries: number; from: number; to: number; head: ChainPosition; checkpoints: number; anchored: boolean }
  | ({ ok: false } & ExportProblem);

/** Where the chain stands: the last entry verified, or the point the export starts from. */
export interface ChainPosition { seq: number; hash: string }

/** The first entry that does not verify, and why (the reasons are part of the CLI's output). */
export interface ExportProblem { firstBadSeq: number; reason: string }

/**
 * Verifies an export with the public keys alone: every entry's hash and link, sequence numbers with
 * no gap, repeat or reordering, every checkpoint's signature and that it matches the entry at its
 * sequence number, no checkpoint beyond the last entry (a truncated tail), and, against checkpoints
 * the officer kept from earlier, no rollback or fork. Streams: memory does not grow with the export.
 * (verify-parallel.ts verifies a large file by byte ranges, with the same answers.)
 */
export async function verifyExport(lines: AsyncIterable<string>, publicJwks: PublicJwks, kept: readonly string[] = []): Promise<ExportCheck> {
  const verifier = new ExportVerifier(publicJwks, kept);
  if (verifier.problem !== null) return verifier.problem;
  for await (const line of lines) {
    const problem = verifier.add(line);
    if (problem !== null) return problem;
  }
  return verifier.finish();
}

export type PublicJwks = { keys: Array<Record<string, string>> };

interface ExportHeader { from: number; to: number; start: ChainPosition }

/**
 * The verification as a state machine fed one line at a time, so that the parallel verifier can feed
 * it the header and checkpoints, hand the entries to workers, and let it do the end checks.
 */
export class ExportVerifier {
  /** Set when a kept checkpoint is already wrong, before any line. */
  readonly problem: ExportCheck | null = null;
  private header: ExportHeader | null = null;
  /** Signed hashes by sequence number: the kept checkpoints' and the export's own. */
  private readonly signed = new Map<number, string>();
  /** The sequence numbers of the checkpoints the officer kept: an export ending before one was rolled back. */
  private readonly keptSeqs = new Set<number>();
  private position: ChainPosition = { seq: 0, hash: genesisHash };
  private entries = 0;
  private checkpoints = 0;

  constructor(private readonly publicJwks: PublicJwks, kept: readonly string[]) {
    const keptClaims: CheckpointClaims[] = [];
    for (const jws of kept) {
      const claims = verifyCheckpoint(jws.trim(), publicJwks);
      if (claims === null) {
        this.problem = fail({ firstBadSeq: 0, reason: 'a kept checkpoint does not verify with the given key' });
        return;
      }
      keptClaims.push(claims);
    }
    for (const c of keptClaims) {
      this.problem = this.recordSigned(c, 'checkpoint');
      if (this.problem !== null) return;
      this.keptSeqs.add(c.seq);
    }
  }

  /** Whether the header line has been read (entries may follow). */
  get started(): boolean {
    return this.header !== null;
  }

  get chainPosition(): ChainPosition {
    return this.position;
  }

  get signedHashes(): ReadonlyMap<number, string> {
    return this.signed;
  }

  /** Takes one line; returns the problem it shows, after which the verification is over. */
  add(line: string): ExportCheck | null {
    if (line.trim() === '') return null;
    const parsed = parseExportLine(line);
    if (parsed.type === 'not-json') return fail({ firstBadSeq: this.position.seq + 1, reason: 'a line is not JSON' });
    const record = parsed.type === 'other' ? parsed.record : null;
    if (this.header === null) {
      if (record?.type !== 'export') return fail({ firstBadSeq: 0, reason: 'the export has no header line' });
      this.header = record as unknown as ExportHeader;
      this.position = { seq: this.header.start.seq, hash: this.header.start.hash };
      return null;
    }
    if (parsed.type === 'entry') {
      const problem = linkProblem(this.position, parsed) ?? contentProblem(parsed, this.signed);
      if (problem !== null) return fail(problem);
      this.position = { seq: parsed.seq, hash: parsed.hash };
      this.entries++;
      return null;
    }
    if (record?.type === 'checkpoint') {
      const claims = verifyCheckpoint(String(record.jws), this.publicJwks);
      if (claims === null || claims.seq !== record.seq || claims.hash !== record.hash) return fail({ firstBadSeq: Number(record.seq) || 0, reason: 'a checkpoint signature does not verify' });
      const problem = this.recordSigned(claims, 'checkpoint');
      if (problem !== null) return problem;
      this.checkpoints++;
      return null;
    }
    return fail({ firstBadSeq: this.position.seq + 1, reason: 'a line is neither an entry nor a checkpoint' });
  }

  /** Moves past entries verified elsewhere (a byte range a worker checked), ending at `last`. */
  advance(last: ChainPosition, entries: number): void {
    this.position = { seq: last.seq, hash: last.hash };
    this.entries += entries;
  }

  /** The end checks, once every line is in: a truncated tail, a rollback, the anchor. */
  finish(): ExportCheck {
    const { header, position } = this;
    if (header === null) return fail({ firstBadSeq: 0, reason: 'the export is empty' });
    if (position.seq !== header.to) return fail({ firstBadSeq: position.seq + 1, reason: 'the export ends before the last entry its header names (truncated)' });
    const beyond = [...this.signed.keys()].filter((seq) => seq > position.seq).sort((a, b) => a - b)[0];
    if (beyond !== undefined) {
      return fail({
        firstBadSeq: position.seq + 1,
        reason: this.keptSeqs.has(beyond)
          ? 'the log ends before a checkpoint you kept: it was rolled back or its tail removed'
          : 'a signed checkpoint names entries after the last one: the tail was removed',
      });
    }
    return { ok: true, entries: this.entries, from: header.from, to: header.to, head: position, checkpoints: this.checkpoints, anchored: header.start.seq === 0 || this.signed.has(header.start.seq) };
  }

  /** Records a signed hash; two signatures that disagree on one sequence number are a fork. */
  private recordSigned(c: CheckpointClaims, what: string): ExportCheck | null {
    const earlier = this.signed.get(c.seq);
    if (earlier !== undefined && earlier !== c.hash) return fail({ firstBadSeq: c.seq, reason: `two ${what}s disagree on the hash at this sequence number (a fork)` });
    this.signed.set(c.seq, c.hash);
    return null;
  }
}

function fail(problem: ExportProblem): ExportCheck {
  return { ok: false, firstBadSeq: problem.firstBadSeq, reason: problem.reason };
}

/** One line of an export, read: an entry with the hash its content gives, or any other record. */
export type ExportLine =
  | ({ type: 'entry' } & ParsedEntry)
  | { type: 'other'; record: Record<string, unknown> }
  | { type: 'not-json' };

export interface ParsedEntry {
  seq: number;
  prevHash: string;
  /** The hash the line claims. */
  hash: string;
  /** The hash its content gives (canonicalEntry over its fields, details as they stand). */
  contentHash: string;
}

/** The checks that link an entry to the one before it, in the order every verifier applies them. */
export function linkProblem(previous: ChainPosition, e: Pick<ParsedEntry, 'seq' | 'prevHash'>): ExportProblem | null {
  if (e.seq !== previous.seq + 1) return { firstBadSeq: previous.seq + 1, reason: e.seq > previous.seq + 1 ? 'entry missing' : 'entry out of order or repeated' };
  if (e.prevHash !== previous.hash) return { firstBadSeq: e.seq, reason: 'previous hash does not match' };
  return null;
}

/** The checks of an entry on its own: its hash, and the signed checkpoint at its sequence number. */
export function contentProblem(e: ParsedEntry, signed: ReadonlyMap<number, string>): ExportProblem | null {
  if (e.contentHash !== e.hash) return { firstBadSeq: e.seq, reason: 'entry hash does not match its content' };
  const checkpointHash = signed.get(e.seq);
  if (checkpointHash !== undefined && checkpointHash !== e.hash) return { firstBadSeq: e.seq, reason: 'the entry differs from the signed checkpoint at its sequence number (rewritten history)' };
  return null;
}

const notJson: ExportLine = { type: 'not-json' };
const detailsKey = ',"details":';
/** A JSON string with nothing to unescape or escape: no quote, backslash, control character or surrogate. */
const plain = '([^"\\\\\\u0000-\\u001f\\ud800-\\udfff]*)';
/**
 * An entry line as exportLines writes it, up to its details. For such a line, JSON.parse would give
 * exactly these strings and this integer, and JSON.stringify would write them back unchanged, so the
 * canonical form can be assembled from the line's own text; any other line takes the general path.
 */
const plainEntryHead = new RegExp(`^\\{"type":"entry","seq":(0|[1-9][0-9]{0,14}),"at":"${plain}","actor":"${plain}","action":"${plain}","target":"${plain}","prev_hash":"${plain}","hash":"${plain}","details":`);
const closingBrace = 0x7d;

/** Reads one non-blank export line. The entry fast path and the general path agree on every line both accept. */
export function parseExportLine(line: string): ExportLine {
  const m = plainEntryHead.exec(line);
  if (m !== null && line.charCodeAt(line.length - 1) === closingBrace) {
    // Matched text is one of the regular expression's groups, so none of these is undefined.
    const [head, seq, at, actor, action, target, prevHash, claimedHash] = m as unknown as [string, string, string, string, string, string, string, string];
    const detailsJson = line.slice(head.length, -1);
    // = canonicalEntry(): JSON.stringify([seq, at, actor, action, target, detailsJson, prevHash])
    const canonical = `[${seq},"${at}","${actor}","${action}","${target}",${JSON.stringify(detailsJson)},"${prevHash}"]`;
    return { type: 'entry', seq: Number(seq), prevHash, hash: claimedHash, contentHash: sha256Hex(canonical) };
  }
  // entryHead parses only what comes before the details: the line must still close as JSON does.
  if (!line.trimEnd().endsWith('}')) return notJson;
  let record: unknown;
  try {
    record = JSON.parse(entryHead(line) ?? line);
  } catch {
    return notJson;
  }
  if (record === null || typeof record !== 'object') return { type: 'other', record: {} };
  const e = record as ExportedEntry;
  if (e.type !== 'entry') return { type: 'other', record: record as Record<string, unknown> };
  return { type: 'entry', seq: e.seq, prevHash: e.prev_hash, hash: e.hash, contentHash: hashOf(e, line) };
}

interface ExportedEntry { type: string; seq: number; at: string; actor: string; action: string; target: string; prev_hash: string; hash: string; details?: Record<string, unknown> }

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
  return sha256Hex(JSON.stringify([e.seq, e.at, e.actor, e.action, e.target, detailsJson, e.prev_hash]));
}

function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}
