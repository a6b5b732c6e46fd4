import type { FieldMode } from '../config/types.js';

/**
 * What can be released of each stored field, and from where. The minimisation policy decides what is
 * stored; this catalogue decides what a grant may ask of it: `value` only for fields that identify
 * nobody on their own, `token` only for tokenised identifiers, `masked` where a mask is defined,
 * `verify` and `reveal` only for values the vault holds.
 */
export interface ReleasableField {
  /** Where the released material comes from. */
  readonly from: 'kept' | 'vault' | 'token';
  readonly modes: readonly FieldMode[];
  /** The masked form, from the stored material (the vaulted value, or the kept last four). */
  readonly mask?: (material: string) => string;
  /** Vault entry that holds what `verify` and `masked` use, when it is not the field itself. */
  readonly vaultKey?: string;
  /** Kept entry the mask is made from (card: the last four kept in clear). */
  readonly keptKey?: string;
  /** How a caller's answer and the stored value are compared. */
  readonly normalise?: (value: string) => string;
}

const accountValues = [
  'debt_type', 'original_creditor', 'account_open_date', 'delinquency_date', 'charge_off_date', 'last_payment_date',
  'itemization_date', 'itemization_amount', 'interest_since_itemization', 'fees_since_itemization', 'payments_since_itemization',
  'credits_since_itemization', 'balance', 'principal', 'interest', 'fees', 'currency', 'country', 'phone_type', 'tax_year', 'tax_type',
  'national_id_type',
  // PHI, but the minimum necessary of a medical account (HIPAA 164.502(b)); grants decide which purposes get them.
  'service_date', 'facility_name',
] as const;

const text = (v: string) => v.normalize('NFKC').trim().toLowerCase().replace(/\s+/g, ' ');
const alnum = (v: string) => v.normalize('NFKC').toUpperCase().replace(/[^0-9A-Z]/g, '');
const digits = (v: string) => v.replace(/\D/g, '');

const initial = (v: string) => `${[...v.trim()][0] ?? ''}.`;
const lastFour = (stars: string) => (v: string) => `${stars}${v.slice(-4)}`;

const vaulted = (mask: (v: string) => string, normalise: (v: string) => string): ReleasableField =>
  ({ from: 'vault', modes: ['masked', 'verify', 'reveal'], mask, normalise });

export const releasableFields: Readonly<Record<string, ReleasableField>> = {
  ...Object.fromEntries(accountValues.map((f) => [f, { from: 'kept', modes: ['value'] } satisfies ReleasableField])),
  first_name: vaulted(initial, text),
  middle_name: vaulted(initial, text),
  last_name: vaulted(initial, text),
  date_of_birth: vaulted((v) => `${v.slice(0, 4)}-**-**`, (v) => v.trim()),
  phone: vaulted((v) => `${v.slice(0, 2)}${'*'.repeat(Math.max(0, v.length - 6))}${v.slice(-4)}`, digits),
  email: vaulted((v) => { const at = v.lastIndexOf('@'); return `${v.slice(0, 1)}***${v.slice(at)}`; }, text),
  address_line1: vaulted(() => '***', text),
  address_line2: vaulted(() => '***', text),
  city: vaulted((v) => v, text),
  region: vaulted((v) => v, text),
  postal_code: vaulted((v) => `${alnum(v).slice(0, 3)}**`, alnum),
  // Verified and masked by the last four alone: the full number is never vaulted (FORMATS: tokenised).
  national_id: { from: 'token', modes: ['token', 'masked', 'verify'], vaultKey: 'national_id_last4', mask: lastFour('***-**-'), normalise: (v) => alnum(v).slice(-4) },
  card_number: { from: 'token', modes: ['token', 'masked'], keptKey: 'card_number_last4', mask: lastFour('**** **** **** ') },
  iban: { from: 'token', modes: ['token'] },
  bank_routing_number: { from: 'token', modes: ['token'] },
  bank_account_number: { from: 'token', modes: ['token'] },
  notes: { from: 'vault', modes: ['reveal'] },
};

/** Problems with a grant, as `config check` lists them. */
export function grantProblems(where: string, grant: Readonly<Record<string, FieldMode>>): string[] {
  const problems: string[] = [];
  for (const [field, mode] of Object.entries(grant)) {
    const known = releasableFields[field];
    if (known === undefined) problems.push(`${where}.${field}: not a releasable field (see docs/recipients.md)`);
    else if (!known.modes.includes(mode)) problems.push(`${where}.${field}: mode "${mode}" is not allowed for this field; allowed: ${known.modes.join(', ')}`);
  }
  return problems;
}
