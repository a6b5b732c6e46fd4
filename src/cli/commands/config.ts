import { resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { demoConfig } from '../../config/demo.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { packageRoot } from '../../lib/paths.js';
import { commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

/** `veilgate config check [--config F]` lists every problem; `veilgate config demo [--json]` prints the demo configuration. */
export const configCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub === 'check') {
    const { values } = parse(rest, { ...commonOptions, json: { type: 'boolean' } }, false);
    try {
      const { config, origin } = loadFromFlags(values, io);
      if (values.json === true) writeJson(io, { ok: true, origin, sources: Object.keys(config.sources), recipients: Object.keys(config.recipients) });
      else io.stdout.write(`configuration OK (${origin}): ${Object.keys(config.sources).length} sources, ${Object.keys(config.recipients).length} recipients\n`);
      return exit.ok;
    } catch (e) {
      if (!(e instanceof GatewayError) || e.code !== 'CONFIG_INVALID') throw e;
      const problems = (e.details?.problems ?? []) as readonly string[];
      if (values.json === true) writeJson(io, { ok: false, problems });
      else io.stdout.write(`configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return exit.usage;
    }
  }
  if (sub === 'demo') {
    const { values } = parse(rest, { json: { type: 'boolean' } }, false);
    const demo = demoConfigWithAbsolutePaths();
    io.stdout.write(values.json === true ? JSON.stringify(demo, null, 2) + '\n' : `# Veilgate demo configuration (DEMO KEYS: never for real data)\n${toYaml(demo)}`);
    return exit.ok;
  }
  throw new GatewayError('USAGE_INVALID', { usage: 'veilgate config check [--config F] [--json] | veilgate config demo [--json]' });
};

/** Key paths made absolute, so that a saved copy works from any folder; dataDir stays ./var. */
function demoConfigWithAbsolutePaths(): Record<string, unknown> {
  const demo = demoConfig() as {
    keys: Record<string, unknown>; sources: Record<string, { pgpPublicKeyFiles: string[]; jwkPublicKeyFiles: string[] }>; officers: Record<string, { passwordHashFile: string }>;
  };
  const abs = (p: string) => resolve(packageRoot, p);
  const keys = demo.keys as { pgpPrivateKeyFiles: string[]; jwksFile: string; tokenKeys: Array<{ file: string }>; vaultKeys: Array<{ file: string }> };
  keys.pgpPrivateKeyFiles = keys.pgpPrivateKeyFiles.map(abs);
  keys.jwksFile = abs(keys.jwksFile);
  for (const k of [...keys.tokenKeys, ...keys.vaultKeys]) k.file = abs(k.file);
  for (const s of Object.values(demo.sources)) {
    s.pgpPublicKeyFiles = s.pgpPublicKeyFiles.map(abs);
    s.jwkPublicKeyFiles = s.jwkPublicKeyFiles.map(abs);
  }
  for (const o of Object.values(demo.officers)) o.passwordHashFile = abs(o.passwordHashFile);
  return demo;
}
