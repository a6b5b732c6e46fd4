import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const pgRoot = '/usr/lib/postgresql';
const installHint = 'PostgreSQL server binaries were not found under /usr/lib/postgresql/<version>/bin; install them with `apt-get install -y postgresql` (Debian/Ubuntu)';

/**
 * A PostgreSQL cluster of one test's own, for tests that stop and restart the server: the shared one
 * on 127.0.0.1:5432 serves other test files at the same time and must never go down.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`, trust auth. */
  readonly url: string;
  readonly port: number;
  /** Whether the server was last started rather than stopped. */
  readonly running: boolean;
  /** `fast`: a clean shutdown (open transactions are rolled back); `immediate`: a crash, recovered from the WAL at the next start. */
  stop(options: { mode: 'fast' | 'immediate' }): Promise<void>;
  /** Starts the same cluster again, on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops the server if it runs and removes its files. */
  cleanup(): Promise<void>;
}

/**
 * initdb + pg_ctl in a temp folder: listening on 127.0.0.1 on a free port, its unix socket in that
 * folder (not /var/run/postgresql), fsync off (a test cluster never outlives a power cut). initdb and
 * postgres refuse to run as root, so as root they run as the `postgres` OS user, who owns the folder.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = serverBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'vg-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const asServerUser = serverUser(dir);
  const port = await freePort();
  const pgCtl = (args: string[]) => asServerUser(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const serverOptions = [
    `-p ${port}`, '-c listen_addresses=127.0.0.1', `-k ${dir}`,
    '-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off',
  ].join(' ');
  let running = false;

  const cluster: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    get running() {
      return running;
    },
    async start() {
      // -w: returns once the server accepts connections (after crash recovery, if any).
      await pgCtl(['-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']);
      running = true;
    },
    async stop({ mode }) {
      await pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async cleanup() {
      if (running) await cluster.stop({ mode: 'immediate' }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await asServerUser(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
    await cluster.start();
  } catch (error) {
    await cluster.cleanup();
    throw new Error(`Could not start a private PostgreSQL cluster in ${dir}: ${(error as Error).message}\n${cluster.log()}`, { cause: error });
  }
  return cluster;
}

/** The newest installed server's bin folder (the version differs between machines). */
function serverBinaries(): string {
  const versions = existsSync(pgRoot) ? readdirSync(pgRoot).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  const version = versions.find((v) => existsSync(join(pgRoot, v, 'bin', 'initdb')) && existsSync(join(pgRoot, v, 'bin', 'pg_ctl')));
  if (version === undefined) throw new Error(installHint);
  return join(pgRoot, version, 'bin');
}

type Runner = (file: string, args: string[]) => Promise<unknown>;

/** Runs server binaries as the user who owns `dir`: `postgres` when the tests run as root, else the tests' own user. */
function serverUser(dir: string): Runner {
  if (process.getuid?.() !== 0) return (file, args) => run(file, args, { cwd: dir });
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':'));
  const entry = passwd.find((f) => f[0] === 'postgres');
  if (entry === undefined) throw new Error(`Running as root, but there is no postgres OS user to run the server as. ${installHint}`);
  chownSync(dir, Number(entry[2]), Number(entry[3]));
  return (file, args) => run('runuser', ['-u', 'postgres', '--', file, ...args], { cwd: dir });
}

/** A port nobody listens on now; the cluster keeps it across restarts. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
