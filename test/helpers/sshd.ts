import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, chmodSync, openSync, closeSync } from 'node:fs';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's openssh-server puts the daemon. sshd re-execs itself, so it must be started by absolute path. */
export const sshdBinary = '/usr/sbin/sshd';

/** A real OpenSSH sshd on 127.0.0.1, with its own keys and config in a temp dir (STACK-NOTES §4). */
export interface TestSshd {
  readonly port: number;
  /** The folder the SFTP session starts in (`internal-sftp -d`); relative remote paths resolve under it. */
  readonly root: string;
  /** The client's private key (OpenSSH format), authorised for user `root`. */
  readonly clientKeyFile: string;
  /** `SHA256:<base64>` of the host key, as `ssh-keygen -lf` prints it. */
  readonly hostKeySha256: string;
  readonly username: string;
  /** The daemon's stderr (LogLevel VERBOSE, sftp-server at INFO). */
  log(): string;
  /** Stops the listener and every session process. */
  stop(): Promise<void>;
  /** SIGSTOP to the listener and every session process: the server hangs, the TCP connections stay open. */
  pause(): void;
  /** SIGCONT to everything pause() stopped. */
  resume(): void;
  /** Kills everything and starts again on the same port with the same keys. */
  restart(): Promise<void>;
}

/**
 * Starts sshd on a free loopback port. Nothing outside the temp dir is touched, except that the
 * privilege-separation folder /run/sshd is created when missing (sshd refuses to start without it,
 * and /run is a tmpfs that a container may start without it).
 * @throws Error with install instructions when /usr/sbin/sshd is missing: the SFTP tests never skip.
 */
export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(sshdBinary)) {
    throw new Error(`${sshdBinary} is missing: the SFTP tests need a real OpenSSH server. Install it with: apt-get update && apt-get install -y openssh-server`);
  }
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'vg-sshd-'));
  const root = join(dir, 'sftp-root');
  mkdirSync(root);
  const hostKey = join(dir, 'ssh_host_ed25519_key');
  const clientKeyFile = join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'veilgate-test-host', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'veilgate-test-client', '-f', clientKeyFile]);
  const authorizedKeys = join(dir, 'authorized_keys');
  copyFileSync(`${clientKeyFile}.pub`, authorizedKeys);
  chmodSync(authorizedKeys, 0o600);
  const hostKeySha256 = fingerprint(readFileSync(`${hostKey}.pub`, 'utf8'));
  const username = 'root';
  const logFile = join(dir, 'sshd.log');

  let port = 0;
  let daemon: ChildProcess | undefined;
  let stopped: number[] = [];

  const writeConfig = () => {
    const configFile = join(dir, 'sshd_config');
    writeFileSync(configFile, [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      // authorized_keys lives under the world-writable /tmp.
      'StrictModes no',
      'UsePAM no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'MaxStartups 100:30:200',
      'MaxSessions 50',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      // ChrootDirectory cannot work under /tmp (every component must be root-owned, not writable by others).
      `Match User ${username}`,
      `    ForceCommand internal-sftp -l INFO -d ${root}`,
      '',
    ].join('\n'));
    execFileSync(sshdBinary, ['-t', '-f', configFile]);
    return configFile;
  };

  const launch = async (): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      if (port === 0 || attempt > 0) port = await freePort();
      const configFile = writeConfig();
      const fd = openSync(logFile, 'a');
      const child = spawn(sshdBinary, ['-D', '-e', '-f', configFile], { stdio: ['ignore', fd, fd] });
      closeSync(fd);
      const exited = once(child, 'exit').then(() => 'exited' as const);
      const ready = waitForBanner(port, 10_000).then(() => 'ready' as const);
      const outcome = await Promise.race([ready, exited]);
      if (outcome === 'ready') {
        daemon = child;
        return;
      }
      if (attempt >= 3) throw new Error(`sshd did not start:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    }
  };

  const relaunchOnSamePort = async (): Promise<void> => {
    const configFile = writeConfig();
    const fd = openSync(logFile, 'a');
    const child = spawn(sshdBinary, ['-D', '-e', '-f', configFile], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    await waitForBanner(port, 10_000);
    daemon = child;
  };

  const killAll = async (): Promise<void> => {
    const child = daemon;
    if (child === undefined) return;
    daemon = undefined;
    const pids = [child.pid!, ...descendants(child.pid!)];
    for (const pid of pids.reverse()) signal(pid, 'SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    stopped = [];
  };

  await launch();

  return {
    get port() {
      return port;
    },
    root,
    clientKeyFile,
    hostKeySha256,
    username,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: async () => {
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    },
    pause: () => {
      if (daemon === undefined) return;
      stopped = [daemon.pid!, ...descendants(daemon.pid!)];
      for (const pid of stopped) signal(pid, 'SIGSTOP');
    },
    resume: () => {
      for (const pid of stopped) signal(pid, 'SIGCONT');
      stopped = [];
    },
    restart: async () => {
      await killAll();
      await relaunchOnSamePort();
    },
  };
}

/** `SHA256:<base64 without padding>` of an OpenSSH public key line, as `ssh-keygen -lf` prints it. */
export function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.trim().split(/\s+/)[1]!, 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Every descendant of a process (sshd's per-connection children call setsid, so a process group would miss them). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const task of tasks) {
      let children: string;
      try {
        children = readFileSync(`/proc/${p}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.trim().split(/\s+/).filter((s) => s !== '')) {
        out.push(Number(c));
        visit(Number(c));
      }
    }
  };
  visit(pid);
  return out;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once something on the port answers with an SSH identification string. */
async function waitForBanner(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 1000);
      socket.once('data', (d: Buffer) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(d.toString('latin1').startsWith('SSH-'));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
