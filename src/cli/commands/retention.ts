import { buildDeps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { systemClock } from '../../lib/clock.js';
import { applyRetention } from '../../officers/retention.js';
import { cliLogger, commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

/** `veilgate retention run`: applies the retention periods once (serve does it every retention.intervalHours). */
export const retentionCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub !== 'run') throw new GatewayError('USAGE_INVALID', { usage: 'veilgate retention run' });
  const { values } = parse(rest, commonOptions, false);
  const { config } = loadFromFlags(values, io);
  const deps = await buildDeps(config, { clock: systemClock, log: cliLogger(values['log-level'], io) });
  try {
    writeJson(io, await applyRetention(deps));
    return exit.ok;
  } finally {
    await deps.store.close();
  }
};
