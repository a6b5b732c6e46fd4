import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { linesOf } from '../lib/lines.js';
import { contentProblem, ExportVerifier, linkProblem, parseExportLine, verifyExport, type ChainPosition, type ExportCheck, type ExportProblem, type PublicJwks } from './export.js';

/**
 * Offline verification of a large export (DESIGN §4) on every core. The header and checkpoints are
 * read first, on this thread, by the sequential verifier; the entries after them are cut into byte
 * ranges at line starts, each range is checked on its own (one here, the others in worker threads),
 * and the ranges are then linked in file order: range i's first entry must follow range i-1's last.
 * The answer, good or bad, is the one verifyExport gives for the same file.
 */

export interface ParallelVerifyOptions {
  /** Smaller files are verified on this thread alone; a worker takes ~40 ms to start. */
  parallelAboveBytes?: number;
  /** Byte ranges verified at once, one per thread; default: the cores, at most 8. */
  ranges?: number;
}

const defaultParallelAboveBytes = 8 * 1024 * 1024;
const maxDefaultRanges = 8;

/** Verifies an export file as verifyExport does, in parallel when it is large. */
export async function verifyExportFile(path: string, publicJwks: PublicJwks, kept: readonly string[] = [], options: ParallelVerifyOptions = {}): Promise<ExportCheck> {
  const ranges = options.ranges ?? Math.min(availableParallelism(), maxDefaultRanges);
  const { size } = await stat(path);
  if (ranges > 1 && size >= (options.parallelAboveBytes ?? defaultParallelAboveBytes)) {
    const result = await verifyExportInRanges(path, publicJwks, kept, { count: ranges });
    if (result !== 'unusual') return result;
  }
  return verifyExport(linesOf(path), publicJwks, kept);
}

/**
 * How to cut the entries into ranges: `count` ranges of about equal size, or at given byte offsets
 * (each moved to the next line start), which lets tests put a range boundary at a chosen entry.
 */
export type RangePlan = { count: number } | { cutAt: readonly number[] };

/**
 * The parallel verification proper. Returns 'unusual' when, before any problem, a range holds a line
 * that is not an entry (a checkpoint or header out of place, a line that is not JSON): the sequential
 * verifier then gives its answer for such a file, as before.
 */
export async function verifyExportInRanges(path: string, publicJwks: PublicJwks, kept: readonly string[], plan: RangePlan): Promise<ExportCheck | 'unusual'> {
  const verifier = new ExportVerifier(publicJwks, kept);
  if (verifier.problem !== null) return verifier.problem;
  let entriesStart = -1;
  for await (const { line, start } of linesWithOffsets(path)) {
    if (verifier.started && line.startsWith(entryLineStart)) {
      entriesStart = start;
      break;
    }
    const problem = verifier.add(line);
    if (problem !== null) return problem;
  }
  if (entriesStart < 0) return verifier.finish();

  const signed = [...verifier.signedHashes];
  const [local, ...remote] = await splitAtLines(path, entriesStart, plan);
  const workers = remote.map((range) => verifyRangeInWorker({ path, ...range, signed }));
  const results = [verifyRange({ path, ...local!, signed }), ...workers.map((w) => w.result)];
  try {
    for (const pending of results) {
      const range = await pending;
      if (range.first !== null) {
        const problem = linkProblem(verifier.chainPosition, range.first);
        if (problem !== null) return { ok: false, ...problem };
      }
      if (range.problem !== null) return { ok: false, ...range.problem };
      if (range.unusual) return 'unusual';
      if (range.last !== null) verifier.advance(range.last, range.entries);
    }
  } finally {
    // Once the answer is known, the ranges after it need not finish.
    for (const w of workers) w.stop();
  }
  return verifier.finish();
}

/** A byte range of the entries, [start, end), starting at a line start and ending after a newline or at the end of the file. */
export interface RangeTask {
  path: string;
  start: number;
  end: number;
  /** The signed hashes by sequence number: the checkpoints read before the entries, and the kept ones. */
  signed: Array<[number, string]>;
}

export interface RangeResult {
  /** The range's first entry, whose link to the range before is checked by the caller. */
  first: { seq: number; prevHash: string } | null;
  /** The position after the range's last entry, when the range is clean. */
  last: ChainPosition | null;
  entries: number;
  /** The first problem after the first entry's link, exactly as the sequential verifier words it. */
  problem: ExportProblem | null;
  /** A line that is not an entry came before any problem. */
  unusual: boolean;
}

/** Checks one range on its own: every entry's hash and checkpoint, and every link but the first. */
export async function verifyRange(task: RangeTask): Promise<RangeResult> {
  const signed = new Map(task.signed);
  const result: RangeResult = { first: null, last: null, entries: 0, problem: null, unusual: false };
  let previous: ChainPosition | null = null;
  const onLine = (line: string): boolean => {
    if (line.trim() === '') return true;
    const parsed = parseExportLine(line);
    if (parsed.type !== 'entry') {
      result.unusual = true;
      return false;
    }
    if (previous === null) result.first = { seq: parsed.seq, prevHash: parsed.prevHash };
    result.problem = (previous === null ? null : linkProblem(previous, parsed)) ?? contentProblem(parsed, signed);
    if (result.problem !== null) return false;
    previous = { seq: parsed.seq, hash: parsed.hash };
    result.entries++;
    return true;
  };
  reading: for await (const block of wholeLines(task.path, task.start, task.end)) {
    for (let lineStart = 0; lineStart < block.length;) {
      const newline = block.indexOf('\n', lineStart);
      // Split as linesOf splits: LF or CR LF ends a line; the file's last line may have neither.
      const line = newline < 0 ? block.slice(lineStart) : block.slice(lineStart, block.charCodeAt(newline - 1) === 13 ? newline - 1 : newline);
      if (!onLine(line)) break reading;
      lineStart = newline < 0 ? block.length : newline + 1;
    }
  }
  if (result.problem === null && !result.unusual) result.last = previous;
  return result;
}

/**
 * The text of the byte range [start, end) in blocks of whole lines (the last may lack its newline),
 * so that the caller splits lines without carrying a rest, and awaits once per block, not per line.
 * A block cut after a newline decodes as it does inside the whole file; a block of pure ASCII (the
 * usual export) is read as Latin-1: the same characters, without the cost of UTF-8 decoding.
 */
async function* wholeLines(path: string, start: number, end: number): AsyncGenerator<string> {
  if (end <= start) return;
  let pending: Buffer[] = [];
  for await (const chunk of createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const cut = chunk.lastIndexOf(0x0a) + 1;
    if (cut === 0) {
      pending.push(chunk);
      continue;
    }
    yield decode(pending.length === 0 ? chunk.subarray(0, cut) : Buffer.concat([...pending, chunk.subarray(0, cut)]));
    pending = cut < chunk.length ? [chunk.subarray(cut)] : [];
  }
  if (pending.length > 0) yield decode(Buffer.concat(pending));
}

function decode(bytes: Buffer): string {
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

const entryLineStart = '{"type":"entry",';

/**
 * Cuts [from, end of file) as planned, each cut moved to the next line start, so that no line is
 * split and the ranges hold exactly the lines the whole file has.
 */
export async function splitAtLines(path: string, from: number, plan: RangePlan): Promise<Array<{ start: number; end: number }>> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    const cuts = 'count' in plan
      ? Array.from({ length: plan.count - 1 }, (_, i) => from + Math.floor(((size - from) * (i + 1)) / plan.count))
      : plan.cutAt;
    const boundaries = [from];
    for (const cut of [...cuts].sort((a, b) => a - b)) boundaries.push(await nextLineStart(file, Math.max(cut, from), size));
    boundaries.push(size);
    const ranges = [];
    for (let i = 0; i + 1 < boundaries.length; i++) if (boundaries[i + 1]! > boundaries[i]!) ranges.push({ start: boundaries[i]!, end: boundaries[i + 1]! });
    return ranges.length > 0 ? ranges : [{ start: from, end: size }];
  } finally {
    await file.close();
  }
}

/** The first line start at or after `at` (the byte after a newline), or the file's size. */
async function nextLineStart(file: FileHandle, at: number, size: number): Promise<number> {
  const block = Buffer.alloc(64 * 1024);
  for (let position = at - 1; position < size; position += block.length) {
    const { bytesRead } = await file.read(block, 0, block.length, position);
    const newline = block.subarray(0, bytesRead).indexOf(0x0a);
    if (newline >= 0) return position + newline + 1;
  }
  return size;
}

/** Lines with the byte offset each starts at, split and decoded as linesOf does (CR LF ends a line too). */
async function* linesWithOffsets(path: string): AsyncGenerator<{ line: string; start: number }> {
  let parts: Buffer[] = [];
  let partStart = 0;
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, from)) {
      const bytes = parts.length === 0 ? chunk.subarray(from, newline) : Buffer.concat([...parts, chunk.subarray(from, newline)]);
      const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
      yield { line: bytes.toString('utf8', 0, end), start: partStart };
      parts = [];
      from = newline + 1;
      partStart = offset + from;
    }
    if (from < chunk.length) parts.push(chunk.subarray(from));
    offset += chunk.length;
  }
  if (parts.length > 0) yield { line: Buffer.concat(parts).toString('utf8'), start: partStart };
}

/**
 * Runs verifyRange in a worker thread. In production the module is compiled (dist/*.js); under vitest
 * and tsx it is the TypeScript source, and the worker must register tsx itself: on Node 20, tsx's
 * `--import` hook skips worker threads, so `execArgv: ['--import', 'tsx']` alone does not load `.ts`.
 */
function verifyRangeInWorker(task: RangeTask): { result: Promise<RangeResult>; stop: () => void } {
  const worker = fromSource
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(workerUrl.href)}); })`, { eval: true, workerData: task, execArgv: [] })
    : new Worker(workerUrl, { workerData: task, execArgv: [] });
  const result = new Promise<RangeResult>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`an audit verify worker exited (${code}) without a result`)));
  });
  // A worker stopped once the answer is known rejects a promise nobody awaits any more.
  result.catch(() => undefined);
  return { result, stop: () => void worker.terminate() };
}

const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './verify-worker.ts' : './verify-worker.js', import.meta.url);
