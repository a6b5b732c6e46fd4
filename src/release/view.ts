import type { FieldMode } from '../config/types.js';
import type { AuditDraft } from '../audit/chain.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Clock } from '../lib/clock.js';
import type { AccountFacts, FeedEvent, Store } from '../store/store.js';
import type { Tokeniser } from '../tokenise/tokens.js';
import type { Vault } from '../tokenise/vault.js';
import { decideRelease } from './decide.js';
import { releasableFields } from './fields.js';
import type { ReleasePolicy } from './policy.js';
import { foldSubjectEvents, subjectStateFields } from './subject-state.js';
import { SlidingWindow } from './sliding-window.js';

/** How one released field appears to a recipient. */
export interface FieldView {
  value?: string;
  token?: string;
  masked?: string;
  /** The field can be checked with POST /v1/verify. */
  verify?: true;
  /** The field can be read with POST /v1/reveal. */
  reveal?: true;
}

export interface AccountView {
  /** The recipient's own token for the account (and subject): stable for it, useless to anyone else. */
  account: string;
  subject: string | null;
  source: string;
  status: 'placed' | 'recalled';
  /** The tombstone of a recalled account. */
  recall?: { reason: string | null; effective_date: string | null };
  fields: Record<string, FieldView>;
  withheld: Record<string, string>;
  policy_version: string;
  consent_version: number;
}

export interface FeedItem {
  cursor: string;
  type: FeedEvent['type'];
  at: string;
  /** What changed, for update and subject events: non-personal fields only (amounts, flags, dates). */
  changes?: Record<string, string>;
  view: AccountView;
}

export interface Reader {
  recipient: string;
  purpose: string;
  /** The API route or CLI command, for the audit entry. */
  route: string;
}

/** One account's facts materialised for one decision: kept fields and the vaulted values, if opened. */
interface Material {
  data: Record<string, string>;
  vault: Record<string, string> | null;
  /** The subject's data key was destroyed: every vaulted value is gone. */
  erased: boolean;
}

/** The fields of a change a feed event may carry: an update's non-personal facts, restrictions and consents. */
const changeFields = new Set(['update_type', 'effective_date', 'amount', 'balance', 'phone_type', 'country', ...subjectStateFields]);

/**
 * The one way subject data leaves the gateway (DESIGN §3, invariant 3). Each read resolves the
 * recipient's tokens, decides grant ∩ consents and restrictions ∩ account state, materialises only
 * what was decided, and writes the audit entry in the same store transaction: recipient, purpose,
 * route, internal tokens, fields released and withheld with reasons, the policy version and each
 * subject's consent-state version. Never a value.
 */
export class ReleaseView {
  readonly #verifyWindow: SlidingWindow;
  readonly #revealWindow: SlidingWindow;

  constructor(
    private readonly d: { store: Store; tokeniser: Tokeniser; vault: Vault; clock: Clock },
    private readonly policy: ReleasePolicy,
    limits: { verifyAttemptsPerSubjectPerHour: number; revealsPerMinute: number },
  ) {
    // In the store: every replica counts against the same limits.
    this.#verifyWindow = new SlidingWindow(d.store, 'verify', limits.verifyAttemptsPerSubjectPerHour, 3_600_000);
    this.#revealWindow = new SlidingWindow(d.store, 'reveal', limits.revealsPerMinute, 60_000);
  }

  get policyVersion(): string {
    return this.policy.version;
  }

  /** The grant of a reader's purpose; a purpose the recipient is not granted is refused and audited. */
  async grantOf(reader: Reader): Promise<Readonly<Record<string, FieldMode>>> {
    const grant = this.policy.grantFor(reader.recipient, reader.purpose);
    if (grant === undefined) await this.refuse(reader, reader.purpose === '' ? 'RELEASE_PURPOSE_REQUIRED' : 'RELEASE_PURPOSE_NOT_GRANTED');
    return grant!;
  }

  /** Writes the audit entry of a refusal, then throws its code. */
  async refuse(reader: Reader, code: 'RELEASE_PURPOSE_REQUIRED' | 'RELEASE_PURPOSE_NOT_GRANTED' | 'NOT_FOUND' | 'RATE_LIMITED', target = reader.route): Promise<never> {
    await this.d.store.appendAudit([{ actor: `recipient:${reader.recipient}`, action: 'release.refused', target, details: { purpose: reader.purpose, route: reader.route, code } }]);
    throw new GatewayError(code);
  }

  /** The released view of one account, by the recipient's token. */
  async account(reader: Reader, recipientToken: string): Promise<AccountView> {
    const grant = await this.grantOf(reader);
    const internal = this.resolve(reader, recipientToken);
    const view = internal === null ? null : await this.d.store.release<AccountView | null>([internal], (facts) => {
      const f = facts.get(internal);
      if (f === undefined || !this.#visible(reader, f)) return { result: null, audit: [] };
      const { view: v, audit } = this.#decide(reader, grant, f, 'view');
      return { result: v, audit: [this.#entry(reader, 'release.account', f.accountToken, [audit])] };
    });
    if (view === null) return this.refuse(reader, 'NOT_FOUND');
    return view;
  }

  /** A page of the recipient's feed after a cursor, each event with the account's view as of now. */
  async feed(reader: Reader, afterSeq: number, limit: number): Promise<{ events: FeedItem[]; lastSeq: number }> {
    const grant = await this.grantOf(reader);
    return this.d.store.releaseFeed({ sources: this.policy.sourcesOf(reader.recipient), afterSeq, limit }, (events, facts) => {
      const items: FeedItem[] = [];
      const audits: Array<Record<string, unknown>> = [];
      const decided = new Map<string, AccountView>();
      for (const e of events) {
        const f = facts.get(e.accountToken);
        if (f === undefined) continue;
        let view = decided.get(e.accountToken);
        if (view === undefined) {
          const d = this.#decide(reader, grant, f, 'view');
          view = d.view;
          decided.set(e.accountToken, view);
          audits.push(d.audit);
        }
        const changes = e.changes === null ? undefined : Object.fromEntries(Object.entries(e.changes).filter(([k]) => changeFields.has(k)));
        items.push({ cursor: String(e.seq), type: e.type, at: e.at, ...(changes === undefined ? {} : { changes }), view });
      }
      const lastSeq = events.length === 0 ? afterSeq : events[events.length - 1]!.seq;
      const audit = audits.length === 0 ? [] : [this.#entry(reader, 'release.feed', `feed:${afterSeq}-${lastSeq}`, audits)];
      return { result: { events: items, lastSeq }, audit };
    });
  }

  /**
   * Identity verification without disclosure: for each claimed field that the grant lets the recipient
   * verify (or reveal) and the rules release, whether it matches; never the stored value. Attempts per
   * recipient and subject are limited across all replicas, and every attempt, refused or not, is
   * audited with its outcome per field.
   *
   * Two store steps: the account's tokens are read first (nothing released, so nothing audited) to name
   * the subject whose limit the attempt counts against, the attempt is taken from that limit, and only
   * then is the claim decided and audited. An account the recipient cannot see is NOT_FOUND before any
   * attempt is counted, as it would be for an account that does not exist.
   */
  async verify(reader: Reader, recipientToken: string, claims: Readonly<Record<string, string>>): Promise<{ account: string; match: Record<string, boolean>; withheld: Record<string, string> }> {
    const grant = await this.grantOf(reader);
    const internal = this.resolve(reader, recipientToken);
    if (internal === null) return this.refuse(reader, 'NOT_FOUND');
    const target = await this.d.store.release<{ account: string; subject: string | null } | null>([internal], (facts) => {
      const f = facts.get(internal);
      return { result: f === undefined || !this.#visible(reader, f) ? null : { account: f.accountToken, subject: f.subjectToken }, audit: [] };
    });
    if (target === null) return this.refuse(reader, 'NOT_FOUND');
    if (!await this.#verifyWindow.take(`${reader.recipient}:${target.subject ?? target.account}`, this.d.clock.now().getTime())) {
      await this.d.store.appendAudit([this.#entry(reader, 'verify.refused', target.account, [{ ...target, code: 'RATE_LIMITED', fields: Object.keys(claims) }])]);
      throw new GatewayError('RATE_LIMITED');
    }
    type Verified = { account: string; match: Record<string, boolean>; withheld: Record<string, string> };
    const outcome = await this.d.store.release<Verified | null>([internal], (facts) => {
      const f = facts.get(internal);
      if (f === undefined || !this.#visible(reader, f)) return { result: null, audit: [] };
      const { decision, material, audit } = this.#decideWith(reader, grant, f, 'verify');
      const match: Record<string, boolean> = {};
      const withheld: Record<string, string> = {};
      for (const [field, claimed] of Object.entries(claims)) {
        const mode = decision.released[field];
        const spec = releasableFields[field];
        if (mode !== 'verify' && mode !== 'reveal') {
          withheld[field] = decision.withheld[field] ?? 'not_granted';
          continue;
        }
        if (material.erased) {
          withheld[field] = 'subject_erased';
          continue;
        }
        const stored = material.vault?.[spec?.vaultKey ?? field];
        const normalise = spec?.normalise ?? ((v: string) => v);
        match[field] = stored !== undefined && normalise(stored) === normalise(claimed) && normalise(claimed) !== '';
      }
      const entry = this.#entry(reader, 'verify', f.accountToken, [{ ...audit, released: [], withheld, matched: match }]);
      return { result: { account: this.d.tokeniser.forRecipient(reader.recipient, f.accountToken), match, withheld }, audit: [entry] };
    });
    if (outcome === null) return this.refuse(reader, 'NOT_FOUND');
    return outcome;
  }

  /** Revealed values of fields the grant marks `reveal`, where the rules release them. Rate-limited, audited by field name. */
  async reveal(reader: Reader, recipientToken: string, fields: readonly string[]): Promise<{ account: string; values: Record<string, string>; withheld: Record<string, string> }> {
    const grant = await this.grantOf(reader);
    if (!await this.#revealWindow.take(reader.recipient, this.d.clock.now().getTime(), fields.length)) return this.refuse(reader, 'RATE_LIMITED', recipientToken);
    const internal = this.resolve(reader, recipientToken);
    const outcome = internal === null ? null : await this.d.store.release([internal], (facts) => {
      const f = facts.get(internal);
      if (f === undefined || !this.#visible(reader, f)) return { result: null, audit: [] };
      const { decision, material, audit } = this.#decideWith(reader, grant, f, 'reveal');
      const values: Record<string, string> = {};
      const withheld: Record<string, string> = {};
      for (const field of fields) {
        if (decision.released[field] !== 'reveal') withheld[field] = decision.withheld[field] ?? 'not_granted';
        else if (material.erased) withheld[field] = 'subject_erased';
        else if (material.vault?.[field] !== undefined) values[field] = material.vault[field]!;
      }
      const entry = this.#entry(reader, 'reveal', f.accountToken, [{ ...audit, released: Object.keys(values), withheld }]);
      return { result: { account: this.d.tokeniser.forRecipient(reader.recipient, f.accountToken), values, withheld }, audit: [entry] };
    });
    if (outcome === null) return this.refuse(reader, 'NOT_FOUND');
    return outcome;
  }

  /** The internal token behind one of the reader's own tokens (account or subject), or null. */
  resolve(reader: Reader, recipientToken: string): string | null {
    return this.d.tokeniser.fromRecipient(reader.recipient, recipientToken);
  }

  /** A recipient reads only the accounts of its sources; another source's account does not exist for it. */
  #visible(reader: Reader, f: AccountFacts): boolean {
    const sources = this.policy.sourcesOf(reader.recipient);
    return sources === null || sources.includes(f.source);
  }

  #decide(reader: Reader, grant: Readonly<Record<string, FieldMode>>, f: AccountFacts, need: 'view'): { view: AccountView; audit: Record<string, unknown> } {
    const { decision, material, subject, audit } = this.#decideWith(reader, grant, f, need);
    const toRecipient = (t: string) => this.d.tokeniser.forRecipient(reader.recipient, t);
    const fields: Record<string, FieldView> = {};
    const withheld = { ...decision.withheld };
    for (const [field, mode] of Object.entries(decision.released)) {
      const spec = releasableFields[field];
      if (spec === undefined) continue;
      const kept = material.data[spec.keptKey ?? field];
      const vaulted = material.vault?.[spec.vaultKey ?? field];
      const held = spec.from === 'kept' ? kept !== undefined : spec.from === 'token' ? material.data[`${field}_token`] !== undefined : material.vault === null || vaulted !== undefined;
      if (!held) continue;
      if (material.erased && spec.from === 'vault') {
        withheld[field] = 'subject_erased';
        continue;
      }
      const maskFrom = spec.keptKey !== undefined ? kept : vaulted;
      switch (mode) {
        case 'value': fields[field] = { value: kept! }; break;
        case 'token': fields[field] = { token: toRecipient(material.data[`${field}_token`]!) }; break;
        case 'masked': if (maskFrom !== undefined && spec.mask !== undefined) fields[field] = { masked: spec.mask(maskFrom) }; else withheld[field] = 'subject_erased'; break;
        case 'verify': fields[field] = { verify: true }; break;
        case 'reveal': fields[field] = { reveal: true, ...(vaulted !== undefined && spec.mask !== undefined ? { masked: spec.mask(vaulted) } : {}) }; break;
      }
    }
    const recall = f.recall === null ? null : JSON.parse(f.recall) as Record<string, string>;
    const view: AccountView = {
      account: toRecipient(f.accountToken),
      subject: f.subjectToken === null ? null : toRecipient(f.subjectToken),
      source: f.source,
      status: f.status,
      ...(f.status === 'recalled' ? { recall: { reason: recall?.recall_reason ?? null, effective_date: recall?.effective_date ?? null } } : {}),
      fields,
      withheld,
      policy_version: this.policy.version,
      consent_version: subject.version,
    };
    return { view, audit: { ...audit, released: Object.keys(fields), withheld } };
  }

  /** Decides, and opens the vault only when a released field needs a vaulted value. */
  #decideWith(reader: Reader, grant: Readonly<Record<string, FieldMode>>, f: AccountFacts, need: 'view' | 'verify' | 'reveal') {
    const subject = foldSubjectEvents(f.subjectEvents);
    const data = overlayUpdates(f);
    const decision = decideRelease(grant, {
      purpose: reader.purpose, accountStatus: f.status, debtType: data.debt_type ?? '', restrictions: subject.restrictions, consents: subject.consents,
    }, this.policy.rules);
    if (f.erased) {
      // Crypto-shredded: whatever the grant and the rules, the account releases nothing.
      for (const field of Object.keys(grant)) decision.withheld[field] = 'subject_erased';
      decision.released = {};
    }
    const needsVault = Object.entries(decision.released).some(([field, mode]) => {
      const spec = releasableFields[field];
      if (spec === undefined || (spec.from === 'kept') || spec.keptKey !== undefined) return false;
      if (need === 'view') return mode === 'masked' || mode === 'reveal';
      return mode === 'verify' || mode === 'reveal';
    });
    const material: Material = { data, vault: null, erased: false };
    if (needsVault) Object.assign(material, this.#openVault(f));
    const audit = { account: f.accountToken, subject: f.subjectToken, consent_version: subject.version };
    return { decision, material, subject, audit };
  }

  #openVault(f: AccountFacts): Pick<Material, 'vault' | 'erased'> {
    const sealed = [f.placementVault, ...f.updates.map((u) => u.vault)].filter((v): v is Buffer => v !== null);
    if (sealed.length === 0 || f.subjectToken === null) return { vault: {}, erased: false };
    if (f.wrappedKey === null) return { vault: null, erased: true };
    const dek = this.d.vault.keyOf(f.subjectToken, f.wrappedKey);
    const values: Record<string, string> = {};
    for (const s of sealed) Object.assign(values, this.d.vault.open(dek, f.subjectToken, s));
    return { vault: values, erased: false };
  }

  #entry(reader: Reader, action: string, target: string, items: ReadonlyArray<Record<string, unknown>>): AuditDraft {
    return {
      actor: `recipient:${reader.recipient}`,
      action,
      target,
      details: { purpose: reader.purpose, route: reader.route, policy_version: this.policy.version, items },
    };
  }
}

/** The account's kept fields as of its latest committed update: balances and payments move, the DOFD never does. */
function overlayUpdates(f: AccountFacts): Record<string, string> {
  const data = JSON.parse(f.placement) as Record<string, string>;
  for (const u of f.updates) {
    const change = JSON.parse(u.data) as Record<string, string>;
    if (change.balance !== undefined) data.balance = change.balance;
    if (change.update_type === 'payment' && change.effective_date !== undefined) data.last_payment_date = change.effective_date;
    if (change.phone_type !== undefined) data.phone_type = change.phone_type;
    if (change.country !== undefined) data.country = change.country;
  }
  return data;
}
