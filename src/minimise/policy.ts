import type { RecordKind } from '../config/types.js';
import { consentFields, restrictionFields } from '../release/subject-state.js';

/**
 * Named minimisation strategies (STYLE habit 10): what happens to a field at the door.
 * Each describes itself, so `veilgate config check` and the docs can list the policy.
 */
export const strategies = {
  keep: { needsKey: false, describe: () => 'stored as sent; only for fields that identify nobody on their own' },
  vault: { needsKey: true, describe: () => "encrypted under the subject's data key (AES-256-GCM); erasing the subject destroys the key" },
  token: { needsKey: true, describe: () => 'replaced by a keyed token (HMAC-SHA-256); the value is not stored' },
  'token-last4': { needsKey: true, describe: () => 'a keyed token, plus the last 4 digits in clear (PCI DSS 3.4 allows the last four of a PAN)' },
  'token-vault-last4': { needsKey: true, describe: () => 'a keyed token, plus the last 4 characters vaulted (for masked display and caller verification)' },
  drop: { needsKey: false, describe: () => 'never stored; counted in the acknowledgement' },
} as const;

export type StrategyName = keyof typeof strategies;

export function strategyNamed(name: string): StrategyName {
  if (name in strategies) return name as StrategyName;
  throw new Error(`unknown minimisation strategy "${name}"; valid: ${Object.keys(strategies).join(', ')}`);
}

const kept = (names: string[]) => Object.fromEntries(names.map((n) => [n, 'keep' as const]));
const vaulted = (names: string[]) => Object.fromEntries(names.map((n) => [n, 'vault' as const]));
const restrictions = [...restrictionFields];
const consents = [...consentFields];
const contact = ['phone', 'email', 'address_line1', 'address_line2', 'city', 'region', 'postal_code'];

/** FORMATS.md "default handling", as data. `account_ref` is always tokenised by the pipeline itself. */
export const defaultPolicy: Readonly<Record<RecordKind, Readonly<Record<string, StrategyName>>>> = {
  placement: {
    ...kept([
      'debt_type', 'original_creditor', 'account_open_date', 'delinquency_date', 'charge_off_date', 'last_payment_date',
      'itemization_date', 'itemization_amount', 'interest_since_itemization', 'fees_since_itemization',
      'payments_since_itemization', 'credits_since_itemization', 'balance', 'principal', 'interest', 'fees', 'currency',
      'national_id_type', 'country', 'phone_type', ...consents, ...restrictions, 'service_date', 'facility_name', 'tax_year', 'tax_type',
    ]),
    ...vaulted(['first_name', 'last_name', 'middle_name', 'date_of_birth', ...contact]),
    national_id: 'token-vault-last4',
    card_number: 'token-last4',
    iban: 'token',
    bank_routing_number: 'token',
    bank_account_number: 'token',
    // HIPAA minimum necessary: no collection purpose needs a diagnosis or procedure.
    diagnosis_code: 'drop',
    procedure_code: 'drop',
    // Free text is where special-category data hides; config `minimisation.keepNotes` vaults it instead.
    notes: 'drop',
  },
  recall: kept(['recall_reason', 'effective_date']),
  update: {
    ...kept(['update_type', 'effective_date', 'amount', 'balance', ...consents, ...restrictions, 'phone_type', 'country']),
    ...vaulted(contact),
  },
};

export type MinimisationPolicy = Readonly<Record<RecordKind, Readonly<Record<string, StrategyName>>>>;

/** The policy in force: the defaults adjusted by the configuration, never loosened silently. */
export function buildPolicy(options: { keepNotes: boolean; dropFields: readonly string[] }): MinimisationPolicy {
  const adjust = (table: Readonly<Record<string, StrategyName>>) => {
    const out: Record<string, StrategyName> = { ...table };
    if (options.keepNotes && 'notes' in out) out.notes = 'vault';
    for (const field of options.dropFields) if (field in out && field !== 'account_ref') out[field] = 'drop';
    return out;
  };
  return { placement: adjust(defaultPolicy.placement), recall: adjust(defaultPolicy.recall), update: adjust(defaultPolicy.update) };
}
