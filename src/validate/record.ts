import type { RecordKind } from '../config/types.js';
import type { RecordCode } from '../errors/codes.js';
import { rejection, type Rejection } from '../errors/gateway-error.js';
import { padMoney, parseMinorUnits } from '../lib/decimal.js';
import type { RawRecord } from '../parse/read-records.js';
import {
  isValidCardNumber, normaliseCardNumber, isValidIban, normaliseIban, isValidSsn, normaliseSsn,
  isValidCnResidentId, normaliseCnResidentId, isValidGbNino, normaliseGbNino, isValidAbaRouting,
  isValidBankAccountNumber, isValidE164, isValidEmail, ageInYears, isIso4217, isIso3166Alpha2,
} from './identifiers/index.js';
import { recordSchemas, type SchemaError } from './schemas.js';

/** A record that passed every check, with normalised values (money at 2 places, identifiers canonical). */
export interface ValidRecord {
  readonly recordNo: number;
  readonly kind: RecordKind;
  readonly fields: Readonly<Record<string, string>>;
  readonly warnings: readonly Rejection[];
}

export type ValidationResult = { ok: true; record: ValidRecord } | { ok: false; errors: Rejection[]; warnings: Rejection[] };

const moneyFieldList = [
  'balance', 'principal', 'interest', 'fees', 'amount', 'itemization_amount', 'interest_since_itemization',
  'fees_since_itemization', 'payments_since_itemization', 'credits_since_itemization',
];
const moneyFields = new Set(moneyFieldList);
const dateFields = new Set(['account_open_date', 'delinquency_date', 'charge_off_date', 'last_payment_date', 'itemization_date', 'date_of_birth', 'service_date', 'effective_date']);
const medicalFields = ['service_date', 'facility_name'] as const;
const taxFields = ['tax_year', 'tax_type'] as const;
const itemizationParts = ['itemization_amount', 'interest_since_itemization', 'fees_since_itemization', 'payments_since_itemization', 'credits_since_itemization'] as const;
const restrictionFields = ['cease_communication', 'attorney_represented', 'disputed', 'bankruptcy', 'deceased', 'identity_theft', 'third_party_contact_authorised'];
const consentFields = ['consent_phone', 'consent_sms', 'consent_email'];
const contactFields = ['phone', 'phone_type', 'email', 'address_line1', 'address_line2', 'city', 'region', 'postal_code', 'country'];

/** ICD-10-CM shape (a letter, two digits, optional dot and 1-4 more): a diagnosis hiding in free text. */
const icd10Like = /\b[A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?\b/;
const ssnShaped = /^\d{3}-?\d{2}-?\d{4}$/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const controlCharacter = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
const panShaped = /^\d{12,19}$/;

/**
 * Validates one record of a kind: the JSON Schema first, then the identifier and cross-field checks
 * of FORMATS.md. Problems are returned, never thrown, and name the field but never the value.
 * @param today the date "in the future" and ages are measured against (from the Clock).
 */
export function validateRecord(kind: RecordKind, raw: RawRecord, today: Date): ValidationResult {
  const { validators } = recordSchemas();
  const validate = validators[kind];
  const errors: Rejection[] = [];
  const warnings: Rejection[] = [];
  const n = raw.recordNo;
  if (!validate(raw.fields)) {
    // An `if` error only says that its `then` failed, which is reported on its own.
    for (const e of validate.errors ?? []) if (e.keyword !== 'if') errors.push(fromSchemaError(n, e));
    return { ok: false, errors: dedupe(errors), warnings };
  }
  // After the schema every value is a string. The raw record is this stage's to normalise in place.
  const f = raw.fields as Record<string, string>;
  for (const name of moneyFieldList) if (f[name] !== undefined) f[name] = padMoney(f[name]);
  // ISO dates compare as text; the schema already checked they are real dates.
  const todayIso = today.toISOString().slice(0, 10);
  const fail = (code: RecordCode, field?: string) => errors.push(rejection(n, code, field));
  // Control characters are corruption, never data; PostgreSQL cannot even store U+0000 in text.
  for (const name in f) if (controlCharacter.test(f[name]!)) fail('FIELD_CONTROL_CHARACTER', name);

  if (kind === 'placement') checkPlacement(f, todayIso, today, fail, (code, field) => warnings.push(rejection(n, code, field)));
  else if (kind === 'update') checkUpdate(f, fail);

  if (errors.length > 0) return { ok: false, errors, warnings };
  return { ok: true, record: { recordNo: n, kind, fields: f, warnings } };
}

type Report = (code: RecordCode, field?: string) => void;

function checkPlacement(f: Record<string, string>, todayIso: string, today: Date, fail: Report, warn: Report): void {
  checkContact(f, fail);
  if (f.national_id !== undefined) {
    const id = f.national_id;
    switch (f.national_id_type) {
      case 'us_ssn':
        if (isValidSsn(id)) f.national_id = normaliseSsn(id);
        else fail('SSN_INVALID', 'national_id');
        break;
      case 'cn_ric':
        if (isValidCnResidentId(id, today)) f.national_id = normaliseCnResidentId(id);
        else fail('CN_RIC_INVALID', 'national_id');
        break;
      case 'gb_nino':
        if (isValidGbNino(id)) f.national_id = normaliseGbNino(id);
        else fail('NINO_INVALID', 'national_id');
        break;
      default:
        f.national_id = id.trim();
    }
  }
  if (f.card_number !== undefined) {
    if (isValidCardNumber(f.card_number)) f.card_number = normaliseCardNumber(f.card_number);
    else fail('CARD_NUMBER_INVALID', 'card_number');
  }
  if (f.iban !== undefined) {
    if (isValidIban(f.iban)) f.iban = normaliseIban(f.iban);
    else fail('IBAN_INVALID', 'iban');
  }
  if (f.bank_routing_number !== undefined && !isValidAbaRouting(f.bank_routing_number)) fail('ROUTING_NUMBER_INVALID', 'bank_routing_number');
  if (f.bank_account_number !== undefined && !isValidBankAccountNumber(f.bank_account_number)) fail('BANK_ACCOUNT_INVALID', 'bank_account_number');
  if (!isIso4217(f.currency!)) fail('CURRENCY_INVALID', 'currency');

  for (const name of ['delinquency_date', 'charge_off_date', 'last_payment_date', 'account_open_date', 'itemization_date', 'service_date'] as const) {
    if (f[name] !== undefined && f[name] > todayIso) fail('DATE_IN_FUTURE', name);
  }
  if (f.charge_off_date !== undefined && f.account_open_date !== undefined && f.charge_off_date < f.account_open_date) fail('DATE_ORDER', 'charge_off_date');
  if (f.date_of_birth !== undefined) {
    const age = ageInYears(f.date_of_birth, today);
    if (age < 16 || age > 120) fail('DOB_OUT_OF_RANGE', 'date_of_birth');
    else if (age < 18) warn('WARN_DEBTOR_MINOR', 'date_of_birth');
  }
  // Regulation F 1006.34(c)(2): the itemization must add up to the current amount of the debt.
  if (itemizationParts.every((p) => f[p] !== undefined)) {
    const [amount, interest, fees, payments, credits] = itemizationParts.map((p) => parseMinorUnits(f[p]!)!);
    if (amount! + interest! + fees! - payments! - credits! !== parseMinorUnits(f.balance!)) fail('ITEMIZATION_MISMATCH', 'balance');
  }
  if (f.debt_type !== 'medical') for (const m of medicalFields) if (f[m] !== undefined) fail('MEDICAL_FIELD_ON_NON_MEDICAL', m);
  if (f.debt_type !== 'tax') for (const t of taxFields) if (f[t] !== undefined) fail('TAX_FIELD_ON_NON_TAX', t);

  const ref = f.account_ref!;
  if ((panShaped.test(ref) && isValidCardNumber(ref)) || (ssnShaped.test(ref) && isValidSsn(ref))) warn('WARN_ACCOUNT_REF_LOOKS_LIKE_PII', 'account_ref');
  if (f.notes !== undefined && icd10Like.test(f.notes)) warn('WARN_DIAGNOSIS_IN_FREE_TEXT', 'notes');
}

function checkUpdate(f: Record<string, string>, fail: Report): void {
  checkContact(f, fail);
  const present = (names: string[]) => names.some((name) => f[name] !== undefined);
  const needs: Record<string, string[]> = {
    restriction: restrictionFields,
    consent: consentFields,
    contact_change: contactFields,
    payment: ['amount'],
    balance_adjustment: ['balance'],
  };
  if (!present(needs[f.update_type!]!)) fail('UPDATE_FIELDS_MISSING');
  if (f.update_type === 'payment' && f.amount !== undefined && f.amount.startsWith('-')) fail('MONEY_NEGATIVE', 'amount');
}

function checkContact(f: Record<string, string>, fail: Report): void {
  if (f.phone !== undefined && !isValidE164(f.phone)) fail('PHONE_INVALID', 'phone');
  if (f.email !== undefined && !isValidEmail(f.email)) fail('EMAIL_INVALID', 'email');
  if (f.country !== undefined && !isIso3166Alpha2(f.country)) fail('COUNTRY_INVALID', 'country');
}

function fromSchemaError(record: number, e: SchemaError): Rejection {
  const field = e.keyword === 'required' ? String(e.params.missingProperty) : e.instancePath.split('/')[1];
  return rejection(record, schemaCode(e, field), field);
}

function schemaCode(e: SchemaError, field: string | undefined): RecordCode {
  switch (e.keyword) {
    case 'required':
      return 'FIELD_REQUIRED';
    case 'type':
      return 'FIELD_TYPE';
    case 'enum':
    case 'const':
      return 'FIELD_ENUM';
    case 'maxLength':
      return 'FIELD_TOO_LONG';
    case 'minLength':
      return 'FIELD_REQUIRED';
    case 'dependentRequired':
      return 'NATIONAL_ID_TYPE_REQUIRED';
    case 'additionalProperties':
      return 'FIELD_NOT_ALLOWED';
    case 'format':
      return 'DATE_INVALID';
    case 'pattern':
      if (field !== undefined && moneyFields.has(field)) return 'MONEY_INVALID';
      if (field !== undefined && dateFields.has(field)) return 'DATE_INVALID';
      if (field === 'currency') return 'CURRENCY_INVALID';
      if (field === 'country') return 'COUNTRY_INVALID';
      return 'FIELD_FORMAT';
    default:
      return 'FIELD_FORMAT';
  }
}

/** ajv's `if/then` reports both the failed `then` and the `if`; one line per field and code is enough. */
function dedupe(list: Rejection[]): Rejection[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const key = `${r.field ?? ''}|${r.code}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
