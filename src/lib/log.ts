import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/**
 * Paths that might ever carry a value from a file or request. Our own code logs ids and field names
 * only; redaction is the second line of defence for what a library or an `err` might attach.
 */
export const redactPaths = [
  'fields', 'record', 'records', 'value', 'values', 'body', 'payload', 'plaintext', 'data',
  '*.fields', '*.record', '*.value', '*.values', '*.body', '*.payload', '*.plaintext',
  'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'password', 'passphrase', 'secret', 'key', 'apiKey',
];

export function createLogger(options: { level: string; destination?: DestinationStream | number }): Logger {
  const destination = options.destination ?? 1;
  return pino(
    {
      level: options.level,
      base: { service: 'veilgate' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      // Error messages from libraries (openpgp, sqlite) may quote input; we log our code and the class only.
      serializers: { err: safeErrorSerializer },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination,
  );
}

/** Logs a GatewayError's code and safe details, and for anything else only its type and stack frames. */
export function safeErrorSerializer(err: unknown): Record<string, unknown> {
  if (err === null || typeof err !== 'object') return { type: typeof err };
  const e = err as { name?: string; code?: unknown; details?: unknown; stack?: string; message?: string };
  const isGateway = e.name === 'GatewayError';
  return {
    type: e.name ?? 'Error',
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(isGateway ? { message: e.message, details: e.details } : {}),
    // Stack frames without the first line (which repeats the message).
    ...(e.stack !== undefined ? { stack: e.stack.split('\n').slice(1, 8).join('\n') } : {}),
  };
}
