import { fileCodes, recordCodes, type FileErrorCode, type RecordCode } from './codes.js';

/**
 * Details that may travel with an error into logs, acks and API answers: ids, indexes,
 * field names and counts. Never a value taken from a file or a request.
 */
export type SafeDetails = Readonly<Record<string, string | number | boolean | null | readonly string[]>>;

/** A file or request failure. Callers match on `code`, never on the message. */
export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: FileErrorCode,
    readonly details?: SafeDetails,
    options?: { cause?: unknown },
  ) {
    super(fileCodes[code].message, options);
    this.name = 'GatewayError';
    this.status = fileCodes[code].status;
  }
}

export function isGatewayError(e: unknown, code?: FileErrorCode): e is GatewayError {
  return e instanceof GatewayError && (code === undefined || e.code === code);
}

/** A record-level problem: a value, never thrown. `record` is the 1-based data-row number. */
export interface Rejection {
  record: number;
  field?: string;
  code: RecordCode;
  message: string;
}

export function rejection(record: number, code: RecordCode, field?: string): Rejection {
  return field === undefined
    ? { record, code, message: recordCodes[code] }
    : { record, field, code, message: recordCodes[code] };
}
