/**
 * CSV tokenizer benchmark (not a test): `npx tsx bench/parse-csv.ts [--mb 200] [--runs 3]`.
 *
 * Generates a realistic placement-like CSV in memory (25 columns, ~350 bytes a row, some cells
 * quoted because they hold commas or quotes, some accented or Chinese text), then in the same run
 * streams it in 64 KiB chunks through
 *   (a) our `parseDelimitedRows`, and
 *   (b) `csv-parse` (the streaming API, rows counted in its 'data' handler),
 * after checking on the first few MB that both return the same rows. Prints MB/s (10^6 bytes) and
 * rows/s of each, best and median of `--runs` runs (taken in turns, so that other load on the machine
 * falls on both alike), and their ratio.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { parse as csvParse } from 'csv-parse';
import { parseDelimitedRows } from '../src/parse/csv.js';
import { seededRandom } from '../src/demo/sample-placements.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '200' }, runs: { type: 'string', default: '3' } } });
const targetBytes = Number(values.mb) * 1e6;
const runs = Number(values.runs);
const chunkBytes = 64 * 1024;

const columns = [
  'account_ref', 'debt_type', 'original_creditor', 'account_open_date', 'delinquency_date', 'charge_off_date', 'balance', 'principal',
  'interest', 'fees', 'currency', 'first_name', 'last_name', 'date_of_birth', 'national_id', 'national_id_type', 'address_line1',
  'city', 'region', 'postal_code', 'country', 'phone', 'email', 'card_number', 'notes',
];
const debtTypes = ['credit_card', 'personal_loan', 'auto_loan', 'medical', 'utility', 'telecom'];
const creditors = ['Demo Bank Card Services', '"Demo Bank, N.A."', 'Demo Auto Finance', '"Acme Lending, LLC"'];
const firstNames = ['Avery', 'Jordan', 'Mei', 'Wei', 'Carlos', 'Fatima', 'Zoë', 'Émile', 'Priya', '伟'];
const lastNames = ['Example', 'Sample', 'Placeholder', 'García', 'Müller', 'Okafor', '张'];
const streets = ['Maple Avenue', 'Elm Street', 'Harbor Road', 'Mill Lane', 'Lakeview Drive'];
const cities = ['Springfield,IL,62701', 'Riverton,WY,82501', 'Fairview,TX,75069', 'Greenville,SC,29601'];
const notes = [
  '',
  'Customer requested written validation notice before any call',
  '"Promised payment on the 15th, then missed it; follow up by letter"',
  '"Says the balance is ""not hers"", dispute letter pending"',
  'Hardship plan discussed with customer; awaiting documents from employer',
  '"Asked for the itemization date and amount; letter sent, no reply yet"',
];

function generateCsv(bytes: number): { data: Buffer; rows: number } {
  const random = seededRandom(7);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const digits = (n: number) => String(Math.floor(random() * 10 ** n)).padStart(n, '0');
  const date = (from: number) => `${from + Math.floor(random() * 20)}-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
  const money = () => `${Math.floor(random() * 20000)}.${digits(2)}`;
  const blocks: Buffer[] = [Buffer.from(`${columns.join(',')}\r\n`)];
  let total = blocks[0]!.length;
  let rows = 1;
  while (total < bytes) {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const first = pick(firstNames);
      const last = pick(lastNames);
      lines.push(
        [
          `DB-${digits(10)}`, pick(debtTypes), pick(creditors), date(2000), date(2015), date(2016), money(), money(), money(), money(), 'USD',
          first, last, date(1950), `${digits(3)}-${digits(2)}-${digits(4)}`, 'us_ssn', `"${1 + Math.floor(random() * 9999)} ${pick(streets)}, Apartment ${digits(2)}"`,
          pick(cities), 'US', `+1415${digits(7)}`, `account.holder.${digits(8)}@mail.example.invalid`, `4556${digits(12)}`, pick(notes),
        ].join(','),
      );
    }
    const block = Buffer.from(`${lines.join('\r\n')}\r\n`);
    blocks.push(block);
    total += block.length;
    rows += lines.length;
  }
  return { data: Buffer.concat(blocks), rows };
}

function chunksOf(data: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkBytes) chunks.push(data.subarray(i, i + chunkBytes));
  return chunks;
}

async function* streamOf(chunks: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

/**
 * Feeds a row to a digest, so that two parsers' output can be compared without keeping it: rows
 * kept alive would teach V8 to allocate the parser's arrays straight into the old generation
 * (allocation-site pretenuring), slowing every later run several times over.
 */
function addRow(digest: Hash, row: string[]): void {
  digest.update(JSON.stringify(row));
  digest.update('\n');
}

async function countOurs(chunks: Buffer[], digest?: Hash): Promise<number> {
  let rows = 0;
  for await (const batch of parseDelimitedRows(streamOf(chunks), { delimiter: ',', maxRecordBytes: 64 * 1024 })) {
    rows += batch.length;
    if (digest) for (const row of batch) addRow(digest, row);
  }
  return rows;
}

async function countCsvParse(chunks: Buffer[], digest?: Hash): Promise<number> {
  const parser = csvParse({ bom: true, skip_empty_lines: true, relax_column_count: true });
  let rows = 0;
  parser.on('data', (row: string[]) => {
    rows++;
    if (digest) addRow(digest, row);
  });
  const ended = once(parser, 'end');
  for (const chunk of chunks) if (!parser.write(chunk)) await once(parser, 'drain');
  parser.end();
  await ended;
  return rows;
}

console.log(`generating ~${values.mb} MB of CSV ...`);
const { data, rows } = generateCsv(targetBytes);
const chunks = chunksOf(data);
const mb = data.length / 1e6;
console.log(`${mb.toFixed(1)} MB, ${rows.toLocaleString('en-US')} rows (${Math.round(data.length / rows)} bytes/row, ${columns.length} columns), ${chunks.length} chunks of 64 KiB`);

/** The first whole rows of the file, about `bytes` long (no generated cell holds a line break). */
const head = (bytes: number) => data.subarray(0, data.lastIndexOf(0x0a, bytes) + 1);

// Same answers first, on the first few MB.
const sample = chunksOf(head(5e6));
const oursDigest = createHash('sha256');
const theirDigest = createHash('sha256');
const sampleRows = await countOurs(sample, oursDigest);
await countCsvParse(sample, theirDigest);
if (oursDigest.digest('hex') !== theirDigest.digest('hex')) throw new Error('parseDelimitedRows and csv-parse disagree on the sample');
console.log(`check: both return the same ${sampleRows.toLocaleString('en-US')} rows for the first 5 MB`);

// Warm both up (JIT) on a slice, then time whole runs, in turns.
const warmUp = chunksOf(head(20e6));
await countOurs(warmUp);
await countCsvParse(warmUp);
const contenders = [
  { name: 'parseDelimitedRows', count: countOurs, seconds: [] as number[], cpuSeconds: [] as number[] },
  { name: 'csv-parse 7.0.3', count: countCsvParse, seconds: [] as number[], cpuSeconds: [] as number[] },
];
for (let run = 0; run < runs; run++) {
  for (const c of contenders) {
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    const counted = await c.count(chunks);
    const cpu = process.cpuUsage(cpuStarted);
    c.seconds.push(Number(process.hrtime.bigint() - started) / 1e9);
    c.cpuSeconds.push((cpu.user + cpu.system) / 1e6);
    if (counted !== rows) throw new Error(`${c.name} returned ${counted} rows, expected ${rows}`);
  }
}

// Wall-clock time is what a file waits; CPU time (all of the process's threads, GC included) is
// what other load on the machine does not inflate, so it shows when the wall clock was disturbed.
const best = (s: number[]) => Math.min(...s);
const median = (s: number[]) => [...s].sort((a, b) => a - b)[Math.floor(s.length / 2)]!;
const figures = (s: number) => `${(mb / s).toFixed(1).padStart(6)} MB/s ${Math.round(rows / s).toLocaleString('en-US').padStart(9)} rows/s`;
console.log(`${runs} runs each, in turns; node ${process.version}, load average ${loadavg()[0]!.toFixed(2)} on ${availableParallelism()} CPUs`);
console.log(`${''.padEnd(19)} ${'wall clock, best'.padEnd(32)} ${'wall clock, median'.padEnd(32)} CPU time, best`);
for (const c of contenders) console.log(`${c.name.padEnd(19)} ${figures(best(c.seconds))}    ${figures(median(c.seconds))}    ${figures(best(c.cpuSeconds))}`);
const [ours, theirs] = contenders as [(typeof contenders)[0], (typeof contenders)[0]];
const ratio = (pick: (s: number[]) => number, key: 'seconds' | 'cpuSeconds') => (pick(theirs[key]) / pick(ours[key])).toFixed(2);
console.log(`ratio to csv-parse: ${ratio(best, 'seconds')}x (wall, best), ${ratio(median, 'seconds')}x (wall, median), ${ratio(best, 'cpuSeconds')}x (CPU, best)`);
