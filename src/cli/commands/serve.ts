import { buildApp } from '../../app.js';
import { buildDeps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { systemClock } from '../../lib/clock.js';
import { createLogger } from '../../lib/log.js';
import { startSftpPollers } from '../../ingest/sftp-poller.js';
import { startRecovery } from '../../pipeline/recovery.js';
import { startCheckpointer } from '../../audit/checkpointer.js';
import { startRetention } from '../../officers/retention.js';
import { commonOptions, exit, loadFromFlags, parse, type Command } from '../io.js';

/**
 * `veilgate serve [--port N]`: the HTTP API, the SFTP pollers, the recovery of unfinished files, audit
 * checkpoints and the retention job,
 * until SIGTERM or SIGINT; then it stops taking work, lets in-flight files finish (anything cut short
 * replays from the spool on the next start) and exits 0.
 */
export const serveCommand: Command = async (argv, io) => {
  const { values } = parse(argv, { ...commonOptions, port: { type: 'string' } }, false);
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new GatewayError('USAGE_INVALID', { reason: '--port must be 0 to 65535' });
  const { config, origin } = loadFromFlags(values, io);
  const log = createLogger({ level: values['log-level'] ?? config.log.level, destination: 1 });
  log.info({ origin, dataDir: config.dataDir, sources: Object.keys(config.sources), recipients: Object.keys(config.recipients) }, 'configuration loaded');
  const deps = await buildDeps(config, { clock: systemClock, log });
  const app = buildApp(deps);
  const { url } = await app.listen(port);
  const recovery = startRecovery(deps, config.limits.recoveryIntervalMs);
  const pollers = startSftpPollers(deps);
  const checkpointer = startCheckpointer(deps, config.audit.checkpointIntervalSeconds);
  const retention = startRetention(deps);
  log.info({ url, sftpSources: Object.keys(pollers.status()) }, 'listening');
  io.stderr.write(`veilgate listening on ${url}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await app.close();
  await pollers.stop();
  await recovery.stop();
  await retention.stop();
  await checkpointer.stop();
  await deps.store.close();
  log.info('stopped');
  return exit.ok;
};
