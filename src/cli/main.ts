/** Process entry of the CLI: run one command, set the exit status. */
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
