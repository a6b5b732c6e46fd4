import { GatewayError } from '../errors/gateway-error.js';
import { rejectsFile } from '../pipeline/file-states.js';
import { exit, type CliIo, type Command } from './io.js';

/** Commands load on demand: `audit verify` of an export, say, never loads OpenPGP or the schemas. */
const commands: Record<string, () => Promise<Command>> = {
  ingest: async () => (await import('./commands/ingest.js')).ingestCommand,
  config: async () => (await import('./commands/config.js')).configCommand,
  keys: async () => (await import('./commands/keys.js')).keysCommand,
  audit: async () => (await import('./commands/audit.js')).auditCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommand,
  subject: async () => (await import('./commands/subject.js')).subjectCommand,
  retention: async () => (await import('./commands/retention.js')).retentionCommand,
  migrate: async () => (await import('./commands/migrate.js')).migrateCommand,
};

const help = `veilgate: a privacy gateway for debt-collection data

  veilgate demo                         run the local demo on the built-in demo configuration
  veilgate serve [--port N]             the HTTPS API, SFTP pollers and recovery, until SIGTERM
  veilgate ingest --source ID --kind placement|recall|update FILE
                                        ingest one OpenPGP file; prints the acknowledgement (JSON)
  veilgate status                       files by source and state, recipients' feeds and overdue recalls, audit head
  veilgate audit verify [FILE --key JWKS [--checkpoint F]]
                                        recompute the audit chain (database, or an export offline)
  veilgate audit export [--from N] [--to M]
                                        the audit log and its signed checkpoints as NDJSON
  veilgate audit checkpoint             sign a checkpoint of the audit chain head now
  veilgate subject report|erase (--token T | --national-id N [--type T]) --officer ID [--yes]
                                        a subject-access report (JSON), or erasure (crypto-shredding)
  veilgate retention run                apply the retention periods once
  veilgate migrate                      bring the configured database (SQLite or PostgreSQL) to this version's schema
  veilgate config check [--config F]    list every configuration problem
  veilgate config demo [--json]         print the built-in demo configuration
  veilgate keys init --out DIR          generate a fresh key set for a real deployment

Common options: --config FILE (JSON or YAML; default: the built-in demo configuration),
  --data-dir DIR (default ./var, or VEILGATE_DATA_DIR), --log-level LEVEL (logs go to stderr).
Exit status: 0 done (a file committed or duplicate), 3 file rejected, 2 usage or configuration error, 1 other failure.
`;

/** Runs one CLI invocation and returns its exit status; never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.stdout.write(help);
    return name === undefined ? exit.usage : exit.ok;
  }
  const load = commands[name];
  if (load === undefined) {
    io.stderr.write(`unknown command "${name}"\n\n${help}`);
    return exit.usage;
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    return reportError(e, io);
  }
}

function reportError(e: unknown, io: CliIo): number {
  if (!(e instanceof GatewayError)) {
    // A bug: the stack helps us, and holds no value from a file (our messages never do).
    io.stderr.write(`veilgate: internal error: ${e instanceof Error ? (e.stack ?? e.name) : 'unknown'}\n`);
    return exit.failure;
  }
  io.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message, details: e.details ?? {} } }, null, 2)}\n`);
  if (e.code === 'CONFIG_INVALID') {
    const problems = (e.details?.problems ?? []) as readonly string[];
    io.stderr.write(problems.map((p) => `  - ${p}\n`).join(''));
  }
  if (['CONFIG_INVALID', 'USAGE_INVALID', 'SOURCE_UNKNOWN', 'KIND_NOT_ALLOWED', 'KEY_UNAVAILABLE', 'KEY_EXISTS'].includes(e.code)) return exit.usage;
  return rejectsFile(e.code) ? exit.rejected : exit.failure;
}
