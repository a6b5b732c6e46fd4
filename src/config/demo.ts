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
    recipients: {
      'demo-collector': { displayName: 'Demo collection platform', apiKeySha256: [demoApiKeyHash('demo-collector')] },
      'demo-letters': { displayName: 'Demo letter vendor', apiKeySha256: [demoApiKeyHash('demo-letters')] },
    },
  };
}
