import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { buildApp, type App } from '../../src/app.js';
import type { Deps } from '../../src/deps.js';
import { Gpg, keysDir } from './gpg.js';
import type { LogSink } from './log-sink.js';
import { makeWorkspace, workspaceDeps, type Workspace } from './workspace.js';

export interface TestApp {
  url: string;
  app: App;
  deps: Deps;
  logs: LogSink;
  ws: Workspace;
  gpg: Gpg;
}

/** The demo callers' bearer keys, as a creditor or collection system would hold them. */
export function apiKey(id: string): string {
  return readFileSync(join(keysDir, `${id}.api-key`), 'utf8').trim();
}

/** Boots the real app on port 0 over a fresh workspace (real SQLite file) for the file's tests. */
export function useTestApp(adjust?: Parameters<typeof makeWorkspace>[0]): TestApp {
  const t = {} as TestApp;
  beforeAll(async () => {
    t.gpg = await Gpg.create();
    t.ws = makeWorkspace(adjust);
    ({ deps: t.deps, logs: t.logs } = await workspaceDeps(t.ws));
    t.app = buildApp(t.deps);
    ({ url: t.url } = await t.app.listen(0));
  });
  afterAll(async () => {
    await t.app?.close();
    await t.deps?.store.close();
  });
  return t;
}
