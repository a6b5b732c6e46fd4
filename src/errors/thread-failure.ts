import type { FileErrorCode } from './codes.js';
import { GatewayError, isGatewayError, type SafeDetails } from './gateway-error.js';

/**
 * An error as it crosses between threads (errors do not survive structured cloning as themselves):
 * a file-level GatewayError keeps its code and safe details; anything else is a bug, by its name and
 * message and the code it carries (SQLite's SQLITE_BUSY …). Those name the failure, never a value.
 */
export type ThreadFailure = { code: FileErrorCode; details?: SafeDetails } | { bug: string; errorCode?: string };

export function toThreadFailure(e: unknown): ThreadFailure {
  if (isGatewayError(e)) return e.details === undefined ? { code: e.code } : { code: e.code, details: e.details };
  if (!(e instanceof Error)) return { bug: 'unknown error' };
  const errorCode = (e as { code?: unknown }).code;
  return typeof errorCode === 'string' ? { bug: `${e.name}: ${e.message}`, errorCode } : { bug: `${e.name}: ${e.message}` };
}

/** The error again on this side; `thread` names where a bug happened, in its message. */
export function fromThreadFailure(failure: ThreadFailure, thread: string): Error {
  if ('code' in failure) return new GatewayError(failure.code, failure.details);
  const error = new Error(`${thread}: ${failure.bug}`);
  return failure.errorCode === undefined ? error : Object.assign(error, { code: failure.errorCode });
}
