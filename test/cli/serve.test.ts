import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { cliEntry, runVeilgate } from '../helpers/cli.js';
import { makeWorkspace, projectRoot } from '../helpers/workspace.js';

describe('veilgate serve', () => {
  it('listens on the given port, answers probes, and exits 0 on SIGTERM', async () => {
    const ws = makeWorkspace();
    const child = spawn(process.execPath, [cliEntry, 'serve', '--config', ws.configFile, '--port', '0'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on (http\S+)/.exec(stderr);
        if (m !== null) resolve(m[1]!);
      });
      child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});

describe('veilgate demo', () => {
  it('runs the creditor-to-gateway demo against its own gateway and shows no seeded name in what was stored', async () => {
    const ws = makeWorkspace();
    const r = await runVeilgate(['demo', '--config', ws.configFile]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('"status": "committed"');
    expect(r.stdout).toContain('"status":"duplicate"');
    expect(r.stdout).toContain('contain the sample name "Avery": no');
  });
});
