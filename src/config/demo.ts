import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../lib/paths.js';

/**
 * Only the hash of a bearer key is configured. The demo's keys are in keys-example/ so that anyone
 * can call the demo API; their hashes are computed here rather than copied, so the two cannot drift.
 */
function demoApiKeyHash(id: string): string {
  return createHash('sha256').update(readFileSync(join(packageRoot, 'keys-example', `${id}.api-key`), 'utf8').trim()).digest('hex');
}

/**
 * The built-in demo configuration: three demo creditors and two recipients, keys from keys-example/.
 * Used when no --config is given; `veilgate config demo` prints it so an operator can start from it.
 * Paths are relative to the package root.
 */
export function demoConfig(): Record<string, unknown> {
  const source = (id: string, displayName: string, sector: string) => ({
    apiKeySha256: [demoApiKeyHash(id)],
    jwkPublicKeyFiles: [`keys-example/${id}.jwk.pub.json`],
    displayName,
    sector,
    allowedKinds: ['placement', 'recall', 'update'],
    format: 'csv',
    mapping: {},
    pgpPublicKeyFiles: [`keys-example/${id}.pgp.pub.asc`],
    requireSignature: true,
    requireTrailer: false,
  });
  return {
    dataDir: './var',
    keys: {
      pgpPrivateKeyFiles: ['keys-example/gateway.pgp.asc'],
      jwksFile: 'keys-example/gateway.jwks.json',
      tokenKeys: [{ version: 1, file: 'keys-example/token-root.v1.key' }],
      vaultKeys: [{ version: 1, file: 'keys-example/vault-root.v1.key' }],
    },
    sources: {
      'demo-bank': source('demo-bank', 'Demo Bank (credit cards and loans)', 'bank'),
      'demo-hospital': source('demo-hospital', 'Demo Hospital (medical debt)', 'hospital'),
      'demo-agency': source('demo-agency', 'Demo Revenue Agency (tax debt)', 'government'),
    },
    officers: {
      'demo-officer': { displayName: 'Demo privacy officer', passwordHashFile: 'keys-example/demo-officer.password.scrypt', apiKeySha256: [demoApiKeyHash('demo-officer')] },
    },
    recipients: {
      'demo-collector': { displayName: 'Demo collection platform', apiKeySha256: [demoApiKeyHash('demo-collector')], grants: demoGrants.collector },
      'demo-letters': { displayName: 'Demo letter vendor', apiKeySha256: [demoApiKeyHash('demo-letters')], grants: demoGrants.letters },
    },
  };
}

const account = { debt_type: 'value', original_creditor: 'value', balance: 'value', currency: 'value', delinquency_date: 'value' };
const itemization = {
  itemization_date: 'value', itemization_amount: 'value', interest_since_itemization: 'value', fees_since_itemization: 'value',
  payments_since_itemization: 'value', credits_since_itemization: 'value',
};
const postal = { address_line1: 'reveal', address_line2: 'reveal', city: 'reveal', region: 'reveal', postal_code: 'reveal', country: 'value' };

/**
 * The demo grants show every mode: `value` for account facts, `reveal` for what a dialer or a letter
 * needs, `masked` for display, `verify` for a caller's identity questions, `token` for joins.
 */
const demoGrants = {
  collector: {
    'collection-contact': {
      ...account, ...itemization, last_payment_date: 'value', service_date: 'value', facility_name: 'value', tax_year: 'value',
      first_name: 'reveal', last_name: 'reveal', phone: 'reveal', phone_type: 'value', email: 'reveal',
      date_of_birth: 'verify', national_id: 'verify', postal_code: 'verify', card_number: 'masked', city: 'masked',
    },
    'skip-tracing': {
      debt_type: 'value', first_name: 'reveal', middle_name: 'reveal', last_name: 'reveal', date_of_birth: 'masked',
      national_id: 'token', card_number: 'token', iban: 'token', bank_account_number: 'token', ...postal,
    },
  },
  letters: {
    'letter-mailing': { ...account, ...itemization, first_name: 'reveal', middle_name: 'reveal', last_name: 'reveal', ...postal },
  },
};
