import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './workspace.js';

export const cliEntry = join(projectRoot, 'bin', 'veilgate.js');

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (`node bin/veilgate.js`) as a real process, as an operator would. */
export function runVeilgate(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; onSpawn?: (pid: number) => void } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [cliEntry, ...args], {
      cwd: options.cwd ?? projectRoot,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status, signal) => resolvePromise({ status, signal, stdout, stderr }));
  });
}
