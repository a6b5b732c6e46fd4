import { readFileSync, existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createAjv } from '../lib/ajv.js';
import { deepFreeze } from '../lib/deep-freeze.js';
import { packageRoot, readSchema } from '../lib/paths.js';
import { GatewayError } from '../errors/gateway-error.js';
import { grantProblems } from '../release/fields.js';
import { demoConfig } from './demo.js';
import type { Config } from './types.js';

export interface LoadOptions {
  /** Config file (JSON or YAML). Without it, the built-in demo configuration is used. */
  file?: string;
  /** Overrides dataDir (from --data-dir); beats the file and the environment. */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface LoadedConfig {
  config: Config;
  /** Where the configuration came from, for the startup log. */
  origin: string;
}

/**
 * Loads, checks and freezes the configuration: file, then `VEILGATE_SECTION__KEY` environment
 * variables, then command-line overrides. Every problem is listed at once; nothing is repaired.
 * @throws GatewayError CONFIG_INVALID with `details.problems`.
 */
export function loadConfig(options: LoadOptions = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const { raw, baseDir, origin } = readRaw(options.file);
  applyEnv(raw, env);
  if (options.dataDir !== undefined) raw.dataDir = options.dataDir;

  // DATABASE_URL, the convention of every PostgreSQL host, fills storage.url when the file leaves it out.
  const storage = raw.storage as { kind?: string; url?: string | null } | undefined;
  if (storage?.kind === 'postgres' && (storage.url ?? null) === null && env.DATABASE_URL !== undefined) storage.url = env.DATABASE_URL;
  const problems = checkAgainstSchema(raw);
  if (problems.length === 0) problems.push(...checkFiles(raw as unknown as Config, baseDir));
  if (problems.length > 0) throw new GatewayError('CONFIG_INVALID', { problems });

  // The demo's ./var, and a data dir from the command line or environment, are relative to where
  // the operator stands; a config file's paths are relative to the file.
  const dataDirFromCaller = options.file === undefined || options.dataDir !== undefined || env.VEILGATE_DATA_DIR !== undefined;
  const config = resolvePaths(raw as unknown as Config, baseDir, dataDirFromCaller);
  return { config: deepFreeze(config), origin };
}

function readRaw(file: string | undefined): { raw: Record<string, unknown>; baseDir: string; origin: string } {
  if (file === undefined) return { raw: demoConfig(), baseDir: packageRoot, origin: 'built-in demo configuration' };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GatewayError('CONFIG_INVALID', { problems: [`cannot read the config file ${file}`] }, { cause });
  }
  let parsed: unknown;
  try {
    parsed = ['.yaml', '.yml'].includes(extname(file).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('CONFIG_INVALID', { problems: [`${file} is not valid ${extname(file) === '.json' ? 'JSON' : 'YAML'}`] }, { cause });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new GatewayError('CONFIG_INVALID', { problems: [`${file} must hold an object`] });
  }
  return { raw: parsed as Record<string, unknown>, baseDir: dirname(resolve(file)), origin: resolve(file) };
}

/** `VEILGATE_LIMITS__MAX_FILE_BYTES=5` sets limits.maxFileBytes; ajv's coerceTypes makes it a number. */
function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('VEILGATE_') || value === undefined) continue;
    const path = name.slice('VEILGATE_'.length).split('__').map(snakeToCamel);
    let node = raw;
    for (const key of path.slice(0, -1)) {
      if (node[key] === undefined) node[key] = {};
      if (typeof node[key] !== 'object' || node[key] === null) break;
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = value;
  }
}

function snakeToCamel(s: string): string {
  return s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const validateConfig = createAjv({ useDefaults: true, coerceTypes: true, allErrors: true }).compile(readSchema('config'));

function checkAgainstSchema(raw: Record<string, unknown>): string[] {
  if (validateConfig(raw)) return [];
  return (validateConfig.errors ?? [])
    // ajv reports a bad id twice: once for its pattern (with the name) and once as "property name must be valid".
    .filter((e) => e.keyword !== 'propertyNames')
    .map((e) => {
      const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.');
      if (e.propertyName !== undefined) return `${where}: "${e.propertyName}" is not a valid id (lowercase letters, digits and hyphens)`;
      const extra = e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : '';
      return `${where}: ${e.message ?? 'is invalid'}${extra}`;
    });
}

/** Every key file must exist; a missing one is a configuration error, not a runtime surprise. */
function checkFiles(config: Config, baseDir: string): string[] {
  const problems: string[] = [];
  const need = (path: string | null, where: string) => {
    if (path !== null && !existsSync(resolve(baseDir, path))) problems.push(`${where}: file not found (${path})`);
  };
  config.keys.pgpPrivateKeyFiles.forEach((f, i) => need(f, `keys.pgpPrivateKeyFiles.${i}`));
  need(config.keys.pgpPassphraseFile, 'keys.pgpPassphraseFile');
  need(config.keys.jwksFile, 'keys.jwksFile');
  config.keys.tokenKeys.forEach((k, i) => need(k.file, `keys.tokenKeys.${i}.file`));
  config.keys.vaultKeys.forEach((k, i) => need(k.file, `keys.vaultKeys.${i}.file`));
  for (const [kind, list] of [['tokenKeys', config.keys.tokenKeys], ['vaultKeys', config.keys.vaultKeys]] as const) {
    const versions = list.map((k) => k.version);
    if (new Set(versions).size !== versions.length) problems.push(`keys.${kind}: versions must be unique`);
  }
  for (const [id, source] of Object.entries(config.sources)) {
    source.pgpPublicKeyFiles.forEach((f, i) => need(f, `sources.${id}.pgpPublicKeyFiles.${i}`));
    source.jwkPublicKeyFiles.forEach((f, i) => need(f, `sources.${id}.jwkPublicKeyFiles.${i}`));
    if (source.sftp !== undefined) need(source.sftp.privateKeyFile, `sources.${id}.sftp.privateKeyFile`);
  }
  for (const [id, recipient] of Object.entries(config.recipients)) {
    for (const source of recipient.sources ?? []) if (!(source in config.sources)) problems.push(`recipients.${id}.sources: "${source}" is not a configured source`);
    for (const [purpose, grant] of Object.entries(recipient.grants)) problems.push(...grantProblems(`recipients.${id}.grants.${purpose}`, grant));
  }
  for (const [id, officer] of Object.entries(config.officers)) need(officer.passwordHashFile, `officers.${id}.passwordHashFile`);
  if (config.storage.kind === 'postgres' && config.storage.url === null) problems.push('storage.url: storage.kind is postgres; set storage.url or the DATABASE_URL environment variable');
  need(config.api.tlsCertFile, 'api.tlsCertFile');
  need(config.api.tlsKeyFile, 'api.tlsKeyFile');
  if ((config.api.tlsCertFile === null) !== (config.api.tlsKeyFile === null)) problems.push('api: set both tlsCertFile and tlsKeyFile, or neither');
  // Bearer keys and acknowledgements must not cross a network in clear: plain HTTP only on loopback.
  if (config.api.tlsCertFile === null && !['127.0.0.1', '::1', 'localhost'].includes(config.api.host)) {
    problems.push('api.host: plain HTTP is allowed only on a loopback address; configure tlsCertFile and tlsKeyFile');
  }
  return problems;
}

function resolvePaths(config: Config, baseDir: string, dataDirFromCaller: boolean): Config {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const dataDir = dataDirFromCaller ? resolve(config.dataDir) : abs(config.dataDir);
  return {
    ...config,
    dataDir,
    keys: {
      pgpPrivateKeyFiles: config.keys.pgpPrivateKeyFiles.map(abs),
      pgpPassphraseFile: config.keys.pgpPassphraseFile === null ? null : abs(config.keys.pgpPassphraseFile),
      jwksFile: abs(config.keys.jwksFile),
      tokenKeys: config.keys.tokenKeys.map((k) => ({ ...k, file: abs(k.file) })),
      vaultKeys: config.keys.vaultKeys.map((k) => ({ ...k, file: abs(k.file) })),
    },
    api: {
      ...config.api,
      tlsCertFile: config.api.tlsCertFile === null ? null : abs(config.api.tlsCertFile),
      tlsKeyFile: config.api.tlsKeyFile === null ? null : abs(config.api.tlsKeyFile),
    },
    officers: Object.fromEntries(Object.entries(config.officers).map(([id, o]) => [id, { ...o, passwordHashFile: abs(o.passwordHashFile) }])),
    sources: Object.fromEntries(
      Object.entries(config.sources).map(([id, s]) => [id, {
        ...s,
        pgpPublicKeyFiles: s.pgpPublicKeyFiles.map(abs),
        jwkPublicKeyFiles: s.jwkPublicKeyFiles.map(abs),
        ...(s.sftp === undefined ? {} : { sftp: { ...s.sftp, privateKeyFile: abs(s.sftp.privateKeyFile) } }),
      }]),
    ),
  };
}
