import { createHash } from 'node:crypto';
import type { Config, FieldMode } from '../config/types.js';
import { canonicalJson } from '../audit/chain.js';
import { defaultRules, type Rule } from './rules.js';

/** The release policy in force: every recipient's grants and sources, and the rules, under one version. */
export interface ReleasePolicy {
  /** `p1.` + the first 16 hex digits of SHA-256 over the canonical body: equal policies, equal versions. */
  readonly version: string;
  /** Canonical JSON of grants, sources and rules, stored under the version so decisions can be replayed. */
  readonly body: string;
  readonly rules: readonly Rule[];
  grantFor(recipient: string, purpose: string): Readonly<Record<string, FieldMode>> | undefined;
  purposesOf(recipient: string): string[];
  /** The sources whose accounts a recipient reads (null: all). */
  sourcesOf(recipient: string): readonly string[] | null;
}

export function releasePolicy(config: Config): ReleasePolicy {
  const rules = config.release.rules ?? defaultRules;
  const recipients = Object.fromEntries(Object.entries(config.recipients).map(([id, r]) => [id, { grants: r.grants, sources: r.sources }]));
  const body = canonicalJson({ recipients, rules });
  return {
    version: `p1.${createHash('sha256').update(body).digest('hex').slice(0, 16)}`,
    body,
    rules,
    grantFor: (recipient, purpose) => (Object.hasOwn(config.recipients[recipient]?.grants ?? {}, purpose) ? config.recipients[recipient]!.grants[purpose] : undefined),
    purposesOf: (recipient) => Object.keys(config.recipients[recipient]?.grants ?? {}),
    sourcesOf: (recipient) => config.recipients[recipient]?.sources ?? null,
  };
}
