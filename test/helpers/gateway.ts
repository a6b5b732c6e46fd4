import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Deps } from '../../src/deps.js';
import type { Ack } from '../../src/pipeline/ack.js';
import { Gpg } from './gpg.js';
import { ingestFile, placementRow, writeCsv } from './files.js';
import type { LogSink } from './log-sink.js';
import { makeWorkspace, workspaceDeps, type Workspace } from './workspace.js';

export interface TestGateway {
  gpg: Gpg;
  ws: Workspace;
  deps: Deps;
  logs: LogSink;
  /** Writes rows as CSV, encrypts and signs them with gpg as demo-bank, ingests the file. */
  sendCsv(name: string, rows: Array<Record<string, string>>, options?: { trailer?: string; kind?: 'placement' | 'recall' | 'update'; source?: string }): Promise<Ack>;
  /** Encrypts and signs an arbitrary plaintext file with gpg as the source, then ingests it. */
  sendPlaintext(name: string, plaintextPath: string, options?: { kind?: 'placement' | 'recall' | 'update'; source?: string; signer?: string | null; recipient?: string }): Promise<Ack>;
}

/** Boots a gateway in-process on a fresh workspace for the file's tests (real SQLite file, real gpg). */
export function useTestGateway(adjust?: Parameters<typeof makeWorkspace>[0]): TestGateway {
  const gw = {} as TestGateway;
  beforeAll(async () => {
    gw.gpg = await Gpg.create();
    gw.ws = makeWorkspace(adjust);
    ({ deps: gw.deps, logs: gw.logs } = await workspaceDeps(gw.ws));
    gw.sendPlaintext = async (name, plaintextPath, options = {}) => {
      const source = options.source ?? 'demo-bank';
      const out = join(gw.ws.dir, `${name}.gpg`);
      await gw.gpg.encrypt(plaintextPath, out, { signer: options.signer === undefined ? `${source}@example.invalid` : options.signer, recipient: options.recipient });
      return ingestFile(gw.deps, out, source, options.kind ?? 'placement');
    };
    gw.sendCsv = async (name, rows, options = {}) => {
      const csv = writeCsv(join(gw.ws.dir, `${name}.csv`), rows, options.trailer);
      return gw.sendPlaintext(name, csv, options);
    };
  });
  afterAll(async () => {
    await gw.deps?.store.close();
  });
  return gw;
}

export { placementRow };
