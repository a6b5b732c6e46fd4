import { parseArgs, type ParseArgsConfig } from 'node:util';
import { GatewayError } from '../errors/gateway-error.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { createLogger, type Logger } from '../lib/log.js';

/** Exit statuses of the CLI (documented in the README). */
export const exit = { ok: 0, failure: 1, usage: 2, rejected: 3 } as const;

export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export type Command = (argv: string[], io: CliIo) => Promise<number>;

/** Options every command that touches the gateway's state accepts. */
export const commonOptions = {
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O, allowPositionals = true) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (cause) {
    throw new GatewayError('USAGE_INVALID', { reason: cause instanceof Error ? cause.message : 'invalid arguments' }, { cause });
  }
}

export function loadFromFlags(values: { config?: string | undefined; 'data-dir'?: string | undefined }, io: CliIo): LoadedConfig {
  return loadConfig({ file: values.config, dataDir: values['data-dir'] ?? io.env.VEILGATE_DATA_DIR, env: io.env });
}

/**
 * Logs of CLI commands go to stderr, so stdout stays pure JSON. Quiet by default on the command line
 * (warnings and errors); `--log-level` or VEILGATE_LOG__LEVEL turn it up.
 */
export function cliLogger(flag: string | undefined, io: CliIo): Logger {
  return createLogger({ level: flag ?? io.env.VEILGATE_LOG__LEVEL ?? 'warn', destination: 2 });
}

export function writeJson(io: CliIo, value: unknown): void {
  io.stdout.write(JSON.stringify(value, null, 2) + '\n');
}
