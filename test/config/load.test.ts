import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { makeWorkspace } from '../helpers/workspace.js';

describe('configuration', () => {
  it('loads the built-in demo configuration with its three sources and two recipients, frozen', () => {
    const { config } = loadConfig({ env: {} });
    expect(Object.keys(config.sources)).toEqual(['demo-bank', 'demo-hospital', 'demo-agency']);
    expect(Object.keys(config.recipients)).toEqual(['demo-collector', 'demo-letters']);
    expect(config.limits.maxRecordBytes).toBe(65536);
    expect(Object.isFrozen(config.limits)).toBe(true);
  });

  it('lists every problem at once instead of stopping at the first, and repairs nothing', () => {
    const ws = makeWorkspace();
    const file = join(ws.dir, 'bad.json');
    writeFileSync(file, JSON.stringify({
      limits: { maxRecordBytes: 'lots', unknownLimit: 1 },
      sources: { 'demo-bank': { pgpPublicKeyFiles: ['missing.asc'], format: 'xml' }, BadName: { pgpPublicKeyFiles: ['x'] } },
    }));
    let error: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GatewayError);
    const problems = (error as GatewayError).details!.problems as string[];
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringContaining('limits.maxRecordBytes'),
      expect.stringContaining('unknownLimit'),
      expect.stringContaining('sources.demo-bank.format'),
      expect.stringContaining('BadName'),
    ]));
    expect(problems.length).toBeGreaterThanOrEqual(4);
  });

  it('takes VEILGATE_SECTION__KEY overrides from the environment, checked like the file', () => {
    const { config } = loadConfig({ env: { VEILGATE_LIMITS__MAX_RECORD_BYTES: '4096', VEILGATE_LOG__LEVEL: 'debug' } });
    expect(config.limits.maxRecordBytes).toBe(4096);
    expect(config.log.level).toBe('debug');
    expect(() => loadConfig({ env: { VEILGATE_LIMITS__MAX_RECORD_BYTES: 'many' } })).toThrow(GatewayError);
  });

  it('reports a key file that does not exist as a configuration problem', () => {
    let error: unknown;
    try {
      makeWorkspace((raw) => {
        (raw.keys as { tokenKeys: Array<{ version: number; file: string }> }).tokenKeys = [{ version: 1, file: '/nonexistent/token.key' }];
      });
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', details: { problems: ['keys.tokenKeys.0.file: file not found (/nonexistent/token.key)'] } });
  });

  it('checks grants against what each field can release, and a recipient\'s sources against the configured ones', () => {
    let error: unknown;
    try {
      makeWorkspace((raw) => {
        const recipients = raw.recipients as Record<string, { grants: Record<string, Record<string, string>>; sources?: string[] }>;
        recipients['demo-collector']!.grants['collection-contact'] = { first_name: 'value', balance: 'reveal', diagnosis_code: 'token', national_id: 'token' };
        recipients['demo-letters']!.sources = ['demo-bank', 'no-such-source'];
      });
    } catch (e) {
      error = e;
    }
    const problems = (error as GatewayError).details!.problems as string[];
    expect(problems.sort()).toEqual([
      'recipients.demo-collector.grants.collection-contact.balance: mode "reveal" is not allowed for this field; allowed: value',
      'recipients.demo-collector.grants.collection-contact.diagnosis_code: not a releasable field (see docs/recipients.md)',
      'recipients.demo-collector.grants.collection-contact.first_name: mode "value" is not allowed for this field; allowed: masked, verify, reveal',
      'recipients.demo-letters.sources: "no-such-source" is not a configured source',
    ]);
  });

  it('takes release rules from the configuration, checked against the rule schema', () => {
    const rules = [{ name: 'no_email_ever', when: { debtType: 'medical' }, withhold: ['email'], because: 'house policy' }];
    const ws = makeWorkspace((raw) => {
      (raw as Record<string, unknown>).release = { rules };
    });
    expect(ws.config.release.rules).toEqual([{ ...rules[0], exceptPurposes: [] }]);
    expect(() => makeWorkspace((raw) => {
      (raw as Record<string, unknown>).release = { rules: [{ name: 'Bad Name', when: { moon: 'full' }, withhold: [], because: '' }] };
    })).toThrow(GatewayError);
  });
});
