import { expandFields, holds, type FieldMode, type ReleaseFacts, type Rule } from './rules.js';

export interface Decision {
  /** Field → how it is released (token, masked form, verify-only, revealed value, plain value). */
  released: Record<string, FieldMode>;
  /** Granted fields that are not released, with the rule that withheld each. */
  withheld: Record<string, string>;
}

/**
 * grant ∩ restrictions and consents ∩ account state (DESIGN §3). Only granted fields can be
 * released; a granted field is withheld by the first rule whose condition holds and that names it.
 * Pure: the ReleaseView materialises values and writes the audit entry.
 */
export function decideRelease(grant: Readonly<Record<string, FieldMode>>, facts: ReleaseFacts, rules: readonly Rule[]): Decision {
  const withheldBy = new Map<string, string>();
  for (const rule of rules) {
    if (rule.exceptPurposes?.includes(facts.purpose) === true || !holds(rule.when, facts)) continue;
    const fields = rule.withhold.includes('*') ? Object.keys(grant) : expandFields(rule.withhold);
    for (const field of fields) if (!withheldBy.has(field)) withheldBy.set(field, rule.name);
  }
  const decision: Decision = { released: {}, withheld: {} };
  for (const [field, mode] of Object.entries(grant)) {
    const reason = withheldBy.get(field);
    if (reason === undefined) decision.released[field] = mode;
    else decision.withheld[field] = reason;
  }
  return decision;
}
