import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyExport } from '../../src/audit/export.js';
import { splitAtLines, verifyExportFile, verifyExportInRanges, type RangePlan } from '../../src/audit/verify-parallel.js';
import type { Deps } from '../../src/deps.js';
import { linesOf } from '../../src/lib/lines.js';
import { runVeilgate } from '../helpers/cli.js';
import type { Workspace } from '../helpers/workspace.js';
import { auditExport, parse, publicJwks, publicJwksFile, tampering } from './tampering.js';

// The parallel verifier must give, for every file, the answer the sequential one gives. Each tampering
// case below is verified both ways, with a range boundary put exactly at the tampered line (the first
// entry of a range), just after it (the last entry of a range), and on both sides (a range of one line).

let ws: Workspace;
let deps: Deps;
let lines: string[] = [];
let checkpoint50 = '';
let base = 0;
const at = (n: number) => base + n;

beforeAll(async () => {
  ({ ws, deps, lines, base, checkpoint50 } = await auditExport(10));
});
afterAll(async () => {
  await deps?.store.close();
  if (ws !== undefined) rmSync(ws.dir, { recursive: true, force: true });
});

const { header, checkpoints, entries, withEntries, edit, rehash } = tampering(() => lines);
/** The index of the line that holds entry `seq` (its `nth` copy), in a file's lines. */
function lineOf(list: readonly string[], seq: number, nth = 1): number {
  let seen = 0;
  const index = list.findIndex((l) => l.includes('"type":"entry"') && parse(l).seq === seq && ++seen === nth);
  if (index < 0) throw new Error(`no line holds entry ${seq}`);
  return index;
}

let files = 0;
/** Writes an export; returns the file and the byte offset at which each of its lines starts. */
function writeExport(list: readonly string[], eol = '\n'): { file: string; offsets: number[] } {
  const file = join(ws.dir, `export-${++files}.ndjson`);
  const offsets: number[] = [];
  let offset = 0;
  for (const l of list) {
    offsets.push(offset);
    offset += Buffer.byteLength(l + eol);
  }
  writeFileSync(file, list.map((l) => l + eol).join(''));
  return { file, offsets };
}

const sequential = (file: string, kept: string[] = []) => verifyExport(linesOf(file), publicJwks, kept);

/** Plans that make line `index` the first entry of a range, the last, or both (a range of one line). */
const plansAround = (offsets: number[], index: number): RangePlan[] => [
  { cutAt: [offsets[index]!] },
  { cutAt: [offsets[index + 1] ?? Number.MAX_SAFE_INTEGER] },
  { cutAt: [offsets[index]!, offsets[index + 1] ?? Number.MAX_SAFE_INTEGER] },
];

describe('parallel verification of an audit export by byte ranges', () => {
  it('cuts only at line starts, and its ranges cover the entries exactly once', async () => {
    const { file, offsets } = writeExport(lines);
    const entriesStart = offsets[1 + checkpoints().length]!;
    const entry30 = offsets[lineOf(lines, at(30))]!;
    const lineStarts = new Set(offsets);
    for (const plan of [{ count: 2 }, { count: 3 }, { count: 8 }, { count: 200 }, { cutAt: [entriesStart + 1, entry30 - 1, entry30] }]) {
      const ranges = await splitAtLines(file, entriesStart, plan);
      expect(ranges[0]!.start).toBe(entriesStart);
      expect(ranges.at(-1)!.end).toBe(readFileSync(file).length);
      ranges.forEach((r, i) => {
        expect(lineStarts.has(r.start)).toBe(true);
        expect(r.end).toBeGreaterThan(r.start);
        if (i > 0) expect(r.start).toBe(ranges[i - 1]!.end);
      });
    }
    // A cut inside a line moves to the next line start; one at a line start stays there.
    expect((await splitAtLines(file, entriesStart, { cutAt: [entry30 - 1] })).map((r) => r.start)).toEqual([entriesStart, entry30]);
    expect((await splitAtLines(file, entriesStart, { cutAt: [entry30] })).map((r) => r.start)).toEqual([entriesStart, entry30]);
  });

  it('verifies a clean export with the same entry count, head and checkpoints as the sequential verifier', async () => {
    const { file, offsets } = writeExport(lines);
    const expected = await sequential(file);
    expect(expected).toMatchObject({ ok: true, entries: at(60), head: { seq: at(60) }, checkpoints: 2, anchored: true });
    let workers = 0;
    const countWorker = () => workers++;
    process.on('worker', countWorker);
    try {
      for (const plan of [{ count: 2 }, { count: 5 }, { cutAt: [offsets[lineOf(lines, at(30))]!, offsets[lineOf(lines, at(31))]!] }]) {
        expect(await verifyExportInRanges(file, publicJwks, [], plan)).toEqual(expected);
      }
      expect(await verifyExportFile(file, publicJwks, [checkpoint50], { parallelAboveBytes: 0, ranges: 3 })).toEqual(await sequential(file, [checkpoint50]));
    } finally {
      process.off('worker', countWorker);
    }
    // One range runs on this thread, every other one in a worker thread of its own.
    expect(workers).toBe(1 + 4 + 2 + 2);
  });

  const without = (seq: number) => entries().filter((l) => parse(l).seq !== seq);

  const marked = (list: string[], seq: number, nth = 1): [string[], number] => [list, lineOf(list, seq, nth)];

  // [name, () => [the file's lines, the index of the tampered line], the first bad seq, kept checkpoints]
  const tampered: Array<[string, () => [string[], number], () => number, () => string[]]> = [
    ['an edited entry', () => marked(withEntries(edit(at(7), (e) => ((e.details as { purpose: string }).purpose = 'skip-tracing'))), at(7)), () => at(7), () => []],
    ['an edited first entry', () => marked(withEntries(edit(1, (e) => (e.target = 'v1.other'))), 1), () => 1, () => []],
    ['a deleted entry', () => marked(withEntries(without(at(7))), at(8)), () => at(7), () => []],
    ['a deleted first entry', () => marked(withEntries(without(1)), 2), () => 1, () => []],
    ['a deleted entry signed by a checkpoint', () => marked(withEntries(without(at(50))), at(51)), () => at(50), () => []],
    ['two entries swapped', () => {
      const list = entries();
      [list[at(6)], list[at(7)]] = [list[at(7)]!, list[at(6)]!];
      return marked(withEntries(list), at(8));
    }, () => at(7), () => []],
    ['a repeated entry', () => {
      const list = entries();
      list.splice(at(7), 0, list[at(6)]!);
      return marked(withEntries(list), at(7), 2);
    }, () => at(8), () => []],
    ['an inserted entry', () => {
      const list = entries();
      list.splice(at(6), 0, JSON.stringify({ ...parse(list[at(5)]!), target: 'v1.forged' }));
      return marked(withEntries(list), at(6), 2);
    }, () => at(7), () => []],
    ['an entry whose previous hash was changed', () => marked(withEntries(edit(at(30), (e) => (e.prev_hash = 'f'.repeat(64)))), at(30)), () => at(30), () => []],
    ['a truncated tail (entries dropped, header kept)', () => marked(withEntries(entries().slice(0, at(40))), at(40)), () => at(41), () => []],
    ['a truncated tail with the header edited to match', () => marked(withEntries(entries().slice(0, at(40)), JSON.stringify({ ...parse(header()), to: at(40) })), at(40)), () => at(41), () => []],
    ['a rewritten history with every hash recomputed', () => marked(withEntries(rehash(edit(at(7), (e) => (e.target = 'v1.other')))), at(20)), () => at(20), () => []],
    ['a rollback to an earlier state, against a kept checkpoint', () => marked(withEntries(entries().slice(0, at(20)), JSON.stringify({ ...parse(header()), to: at(20) }), checkpoints().slice(0, 1)), at(20)), () => at(21), () => [checkpoint50]],
  ];

  it.each(tampered)('detects %s with the same first bad seq and reason, with a range boundary at the tampered line or after it', async (_name, make, firstBad, kept) => {
    const [list, index] = make();
    const { file, offsets } = writeExport(list);
    const expected = await sequential(file, kept());
    expect(expected).toMatchObject({ ok: false, firstBadSeq: firstBad() });
    const results = await Promise.all(plansAround(offsets, index).map((plan) => verifyExportInRanges(file, publicJwks, kept(), plan)));
    for (const result of results) expect(result).toEqual(expected);
  });

  it('refuses a forged checkpoint before it reads any entry, as the sequential verifier does', async () => {
    const forged = checkpoints().map((l) => JSON.stringify({ ...parse(l), jws: String(parse(l).jws).replace(/.{4}$/, 'AAAA') }));
    const { file } = writeExport(withEntries(entries(), header(), forged));
    const expected = await sequential(file);
    expect(expected).toMatchObject({ ok: false, reason: expect.stringContaining('signature') as unknown });
    expect(await verifyExportInRanges(file, publicJwks, [], { count: 2 })).toEqual(expected);
  });

  // Lines the ranges do not expect: the parallel pass gives up ('unusual') and the sequential verifier answers.
  const unusual: Array<[string, () => [string[], number]]> = [
    ['a checkpoint moved among the entries', () => {
      const list = [header(), ...checkpoints().slice(1), ...entries().slice(0, at(30)), checkpoints()[0]!, ...entries().slice(at(30))];
      return [list, lineOf(list, at(30)) + 1];
    }],
    ['a line that is not JSON', () => {
      const list = withEntries(entries());
      const index = lineOf(list, at(31));
      list[index] = list[index]!.slice(0, 40);
      return [list, index];
    }],
    ['a second header among the entries', () => {
      const list = withEntries(entries());
      const index = lineOf(list, at(31));
      list.splice(index, 0, header());
      return [list, index];
    }],
    ['a last line cut short inside its details', () => {
      const list = withEntries(entries());
      list[list.length - 1] = list.at(-1)!.slice(0, -20);
      return [list, list.length - 1];
    }],
    ['a last line cut short inside its fixed fields', () => {
      const list = withEntries(entries());
      list[list.length - 1] = list.at(-1)!.slice(0, 60);
      return [list, list.length - 1];
    }],
  ];

  it.each(unusual)('falls back to the sequential verifier on %s, and gives its answer', async (_name, make) => {
    const [list, index] = make();
    const { file, offsets } = writeExport(list);
    const expected = await sequential(file);
    const results = await Promise.all(plansAround(offsets, index).map((plan) => verifyExportInRanges(file, publicJwks, [], plan)));
    expect(results).toEqual(['unusual', 'unusual', 'unusual']);
    expect(await verifyExportFile(file, publicJwks, [], { parallelAboveBytes: 0, ranges: 3 })).toEqual(expected);
  });

  it('gives the same answers for entries written differently: other key order, blank lines, CRLF', async () => {
    const reordered = entries().map((l, i) => {
      if (i !== at(30)) return l;
      const { type, ...rest } = parse(l);
      return JSON.stringify({ ...rest, type });
    });
    const { file: keyOrder, offsets } = writeExport(withEntries(reordered));
    expect(await sequential(keyOrder)).toMatchObject({ ok: true });
    const results = await Promise.all(plansAround(offsets, lineOf(withEntries(reordered), at(31))).map((plan) => verifyExportInRanges(keyOrder, publicJwks, [], plan)));
    for (const result of results) expect(result).toEqual(await sequential(keyOrder));

    const spaced = withEntries(entries().flatMap((l) => [l, '', '  ']));
    const { file: blank } = writeExport(spaced);
    expect(await verifyExportInRanges(blank, publicJwks, [], { count: 4 })).toEqual(await sequential(blank));

    const { file: crlf } = writeExport(withEntries(edit(at(45), (e) => (e.action = 'release.other'))), '\r\n');
    expect(await sequential(crlf)).toMatchObject({ ok: false, firstBadSeq: at(45) });
    expect(await verifyExportInRanges(crlf, publicJwks, [], { count: 4 })).toEqual(await sequential(crlf));
  });

  it('gives the sequential answer from the built CLI (dist, where the worker is compiled .js) on an export above the parallel threshold', async () => {
    // 12,000 entries with padded details (over the default 8 MiB), chained anew, without checkpoints.
    const own = entries().slice(base);
    const padded = rehash(Array.from({ length: 12_000 }, (_, i) => {
      const e = parse(own[i % own.length]!);
      const { items, purpose } = e.details as Record<string, unknown>;
      // Keys in canonical (sorted) order: the details are hashed as they stand.
      return JSON.stringify({ ...e, seq: i + 1, details: { items, note: 'x'.repeat(600), purpose } });
    }));
    const { file } = writeExport([JSON.stringify({ ...parse(header()), to: 12_000 }), ...padded]);
    expect(readFileSync(file).length).toBeGreaterThan(8 * 1024 * 1024);
    const ok = await runVeilgate(['audit', 'verify', file, '--key', publicJwksFile]);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout)).toEqual(await sequential(file));
    expect(ok.status).toBe(0);

    const { file: bad } = writeExport([JSON.stringify({ ...parse(header()), to: 12_000 }), ...padded.filter((l) => parse(l).seq !== 9_000)]);
    const tampered = await runVeilgate(['audit', 'verify', bad, '--key', publicJwksFile]);
    expect(JSON.parse(tampered.stdout)).toEqual({ ok: false, firstBadSeq: 9_000, reason: 'entry missing' });
    expect(tampered.status).toBe(1);
  });
});
