import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { demoConfig } from '../../src/config/demo.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { buildDeps, type Deps } from '../../src/deps.js';
import { systemClock, type Clock } from '../../src/lib/clock.js';
import { createLogger } from '../../src/lib/log.js';
import { LogSink } from './log-sink.js';
import { tempDir } from './temp-dirs.js';

export const projectRoot = resolve(import.meta.dirname, '..', '..');

/** A temporary gateway home: its own config file (the demo one, adjusted) and data folder. */
export interface Workspace {
  dir: string;
  dataDir: string;
  configFile: string;
  config: Config;
}

type RawConfig = ReturnType<typeof demoConfig> & { sources: Record<string, Record<string, unknown>>; limits?: Record<string, unknown> };

export function makeWorkspace(adjust: (raw: RawConfig) => void = () => {}): Workspace {
  const dir = tempDir('vg-test-');
  const raw = structuredClone(demoConfig()) as RawConfig;
  // The demo config's paths are relative to the package root; a config file's are relative to itself.
  const abs = (p: string) => resolve(projectRoot, p);
  const keys = raw.keys as { pgpPrivateKeyFiles: string[]; jwksFile: string; tokenKeys: Array<{ file: string }>; vaultKeys: Array<{ file: string }> };
  keys.pgpPrivateKeyFiles = keys.pgpPrivateKeyFiles.map(abs);
  keys.jwksFile = abs(keys.jwksFile);
  keys.tokenKeys.forEach((k) => (k.file = abs(k.file)));
  keys.vaultKeys.forEach((k) => (k.file = abs(k.file)));
  for (const s of Object.values(raw.sources)) {
    s.pgpPublicKeyFiles = (s.pgpPublicKeyFiles as string[]).map(abs);
    s.jwkPublicKeyFiles = (s.jwkPublicKeyFiles as string[]).map(abs);
  }
  for (const o of Object.values(raw.officers as Record<string, { passwordHashFile: string }>)) o.passwordHashFile = abs(o.passwordHashFile);
  raw.dataDir = join(dir, 'data');
  adjust(raw);
  const configFile = join(dir, 'veilgate.json');
  writeFileSync(configFile, JSON.stringify(raw, null, 2));
  const { config } = loadConfig({ file: configFile, env: {} });
  return { dir, dataDir: config.dataDir, configFile, config };
}

/** In-process dependencies over a workspace, with a log sink that tests can scan. */
export async function workspaceDeps(ws: Workspace, options: { clock?: Clock } = {}): Promise<{ deps: Deps; logs: LogSink }> {
  const logs = new LogSink();
  const deps = await buildDeps(ws.config, { clock: options.clock ?? systemClock, log: createLogger({ level: 'trace', destination: logs }) });
  return { deps, logs };
}
