import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Config, RecordKind } from './config/types.js';
import { createJoseOpener } from './open/jose-opener.js';
import type { KeyRing } from './keys/keyring.js';
import { loadKeyRing } from './keys/keyring.js';
import type { Clock } from './lib/clock.js';
import type { Logger } from './lib/log.js';
import { buildPolicy, type MinimisationPolicy } from './minimise/policy.js';
import { CheckpointSigner } from './audit/checkpoint.js';
import { releasePolicy, type ReleasePolicy } from './release/policy.js';
import { ReleaseView } from './release/view.js';
import { openStore } from './store/open.js';
import type { Store } from './store/store.js';
import { Tokeniser } from './tokenise/tokens.js';
import { Vault } from './tokenise/vault.js';

/** Everything the use cases need, built once by the composition root (CLI or tests). No singletons. */
export interface Deps {
  readonly config: Config;
  readonly store: Store;
  readonly keys: KeyRing;
  readonly tokeniser: Tokeniser;
  readonly vault: Vault;
  readonly policy: MinimisationPolicy;
  readonly clock: Clock;
  readonly log: Logger;
  /** This process's identity in leases: host, pid and a random part. */
  readonly workerId: string;
  readonly spoolDir: string;
  /** Opens JOSE record batches (POST /v1/records). */
  readonly jose: JoseOpener;
  /** The release policy in force (grants, sources, rules) and the one way subject data is read. */
  readonly releasePolicy: ReleasePolicy;
  readonly release: ReleaseView;
  /** Signs audit checkpoints (ES256, the gateway's JWKS signing key). */
  readonly checkpoints: CheckpointSigner;
}

/** The one way JOSE enters the pipeline: a compact JWE → the verified records of a source. */
export interface JoseOpener {
  openRecords(compact: string, source: string): Promise<{ kind: RecordKind; records: Array<Record<string, unknown>>; signerKid: string }>;
}

export async function buildDeps(config: Config, options: { clock: Clock; log: Logger }): Promise<Deps> {
  const keys = await loadKeyRing(config);
  const store = await openStore(config, options.clock);
  const tokeniser = new Tokeniser(keys);
  const vault = new Vault(keys, store, config.limits.subjectKeyCacheEntries);
  const policy = releasePolicy(config);
  await store.savePolicy(policy.version, policy.body, { actor: 'operator', action: 'policy.changed', target: policy.version, details: { recipients: Object.keys(config.recipients), rules: policy.rules.length } });
  return {
    config,
    store,
    keys,
    tokeniser,
    vault,
    policy: buildPolicy(config.minimisation),
    clock: options.clock,
    log: options.log,
    workerId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    spoolDir: join(config.dataDir, 'spool'),
    jose: await createJoseOpener(config, options.clock),
    releasePolicy: policy,
    release: new ReleaseView({ store, tokeniser, vault, clock: options.clock }, policy, config.release),
    checkpoints: CheckpointSigner.fromJwks(config.keys.jwksFile),
  };
}
