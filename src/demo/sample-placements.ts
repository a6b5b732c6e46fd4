/**
 * Realistic, entirely fictitious placement records for the demo, the benchmark and tests.
 * Deterministic (seeded), so a run can be reproduced. Identifiers pass their checks: SSNs in valid
 * ranges, Luhn-valid card numbers, mod-97-valid IBANs, E.164 phones.
 */
import { formatMinorUnits } from '../lib/decimal.js';

export const placementColumns = [
  'account_ref', 'debt_type', 'original_creditor', 'account_open_date', 'delinquency_date', 'charge_off_date', 'last_payment_date',
  'balance', 'principal', 'interest', 'fees', 'currency', 'first_name', 'middle_name', 'last_name', 'date_of_birth',
  'national_id', 'national_id_type', 'address_line1', 'city', 'region', 'postal_code', 'country', 'phone', 'phone_type', 'email',
  'card_number', 'iban', 'consent_phone', 'consent_sms', 'consent_email', 'cease_communication', 'disputed', 'notes',
] as const;

export type SampleRecord = Partial<Record<(typeof placementColumns)[number] | 'diagnosis_code' | 'service_date' | 'facility_name' | 'tax_year' | 'tax_type', string>>;

const firstNames = ['Avery', 'Jordan', 'Mei', 'Wei', 'Carlos', 'Fatima', 'Olga', 'Liam', 'Noor', 'Hiro', 'Zoë', 'Émile', 'Priya', 'Kwame', 'Sofia', 'Ines'];
const lastNames = ['Example', 'Sample', 'Placeholder', 'Testwell', 'Fictio', 'Mockridge', 'Nobody', 'Dummyson', 'Zhang', 'García', 'Okafor', 'Müller'];
const streets = ['Maple Ave', 'Elm St', 'Harbor Rd', 'Mill Ln', 'Cedar Ct', 'Lakeview Dr'];
const cities: Array<[string, string, string]> = [['Springfield', 'IL', '62701'], ['Riverton', 'WY', '82501'], ['Fairview', 'TX', '75069'], ['Greenville', 'SC', '29601']];
const creditors = ['Demo Bank Card Services', 'Demo Bank Personal Loans', 'Demo Auto Finance'];

/** A small seeded PRNG (mulberry32): fast and reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function luhnCheckDigit(partial: string): string {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

/** A German IBAN with valid mod-97 check digits. */
export function sampleIban(bankCode: string, account: string): string {
  const bban = bankCode.padStart(8, '0') + account.padStart(10, '0');
  const numeric = `${bban}131400`; // "DE" = 13 14, then "00"
  let rem = 0;
  for (const ch of numeric) rem = (rem * 10 + Number(ch)) % 97;
  return `DE${String(98 - rem).padStart(2, '0')}${bban}`;
}

/** One placement record, number `i` (1-based) of a file. */
export function samplePlacement(i: number, random: () => number, options: { sourcePrefix?: string; medical?: boolean } = {}): SampleRecord {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
  const [city, region, postal] = pick(cities);
  const principalMinor = BigInt(10_000 + Math.floor(random() * 2_000_000));
  const interestMinor = BigInt(Math.floor(random() * 50_000));
  const feesMinor = BigInt(Math.floor(random() * 5_000));
  const year = 1950 + Math.floor(random() * 50);
  const ssnArea = String(1 + Math.floor(random() * 665)).padStart(3, '0');
  const card = `4${digits(14)}`;
  const record: SampleRecord = {
    account_ref: `${options.sourcePrefix ?? 'ACC'}-${String(i).padStart(9, '0')}`,
    debt_type: options.medical ? 'medical' : pick(['credit_card', 'personal_loan', 'auto_loan'] as const),
    original_creditor: options.medical ? 'Demo Hospital Billing' : pick(creditors),
    account_open_date: `20${10 + Math.floor(random() * 10)}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
    delinquency_date: `2024-0${1 + Math.floor(random() * 9)}-0${1 + Math.floor(random() * 9)}`,
    last_payment_date: '2023-12-15',
    balance: formatMinorUnits(principalMinor + interestMinor + feesMinor),
    principal: formatMinorUnits(principalMinor),
    interest: formatMinorUnits(interestMinor),
    fees: formatMinorUnits(feesMinor),
    currency: 'USD',
    first_name: pick(firstNames),
    middle_name: random() < 0.3 ? pick(firstNames) : '',
    last_name: pick(lastNames),
    date_of_birth: `${year}-0${1 + Math.floor(random() * 9)}-1${Math.floor(random() * 9)}`,
    national_id: `${ssnArea}-${String(1 + Math.floor(random() * 98)).padStart(2, '0')}-${String(1 + Math.floor(random() * 9998)).padStart(4, '0')}`,
    national_id_type: 'us_ssn',
    address_line1: `${1 + Math.floor(random() * 9999)} ${pick(streets)}`,
    city, region, postal_code: postal, country: 'US',
    phone: `+1555${digits(7)}`,
    phone_type: pick(['mobile', 'landline'] as const),
    email: `debtor${i}@example.invalid`,
    card_number: options.medical ? '' : card + luhnCheckDigit(card),
    iban: random() < 0.1 ? sampleIban(digits(8), digits(10)) : '',
    consent_phone: pick(['granted', 'unknown', 'denied'] as const),
    consent_sms: pick(['granted', 'unknown'] as const),
    consent_email: pick(['granted', 'unknown', 'denied'] as const),
    cease_communication: random() < 0.02 ? 'Y' : 'N',
    disputed: 'N',
    notes: random() < 0.05 ? 'Customer asked, "call after 5pm"' : '',
  };
  if (options.medical) {
    record.service_date = '2024-03-02';
    record.facility_name = 'Demo General Hospital';
    record.diagnosis_code = 'E11.9';
  }
  return record;
}

/** RFC 4180 quoting: only when a cell holds the delimiter, a quote or a line break. */
export function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function csvRow(cells: readonly string[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}

/** Streams a whole placement CSV (header, rows, optional trailer) as text chunks. */
export function* placementCsv(count: number, options: { seed?: number; trailer?: boolean; medical?: boolean; sourcePrefix?: string } = {}): Generator<string> {
  const random = seededRandom(options.seed ?? 42);
  const columns: string[] = [...placementColumns];
  if (options.medical) columns.push('service_date', 'facility_name', 'diagnosis_code');
  yield csvRow(columns);
  let total = 0n;
  let chunk = '';
  for (let i = 1; i <= count; i++) {
    const r = samplePlacement(i, random, options);
    total += BigInt(r.balance!.replace('.', ''));
    chunk += csvRow(columns.map((c) => (r as Record<string, string | undefined>)[c] ?? ''));
    if (chunk.length > 256 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (options.trailer) chunk += `TRAILER,${count},${formatMinorUnits(total)}\r\n`;
  if (chunk.length > 0) yield chunk;
}
