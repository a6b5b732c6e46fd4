/**
 * The built-in demo configuration: three demo creditors and two recipients, keys from keys-example/.
 * Used when no --config is given; `veilgate config demo` prints it so an operator can start from it.
 * Paths are relative to the package root.
 */
export function demoConfig(): Record<string, unknown> {
  const source = (id: string, displayName: string, sector: string) => ({
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
      tokenKeys: [{ version: 1, file: 'keys-example/token-root.v1.key' }],
      vaultKeys: [{ version: 1, file: 'keys-example/vault-root.v1.key' }],
    },
    sources: {
      'demo-bank': source('demo-bank', 'Demo Bank (credit cards and loans)', 'bank'),
      'demo-hospital': source('demo-hospital', 'Demo Hospital (medical debt)', 'hospital'),
      'demo-agency': source('demo-agency', 'Demo Revenue Agency (tax debt)', 'government'),
    },
    recipients: {
      'demo-collector': { displayName: 'Demo collection platform' },
      'demo-letters': { displayName: 'Demo letter vendor' },
    },
  };
}
