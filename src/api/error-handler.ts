import type { NextFunction, Request, Response } from 'express';
import type { FileErrorCode } from '../errors/codes.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../lib/log.js';

/**
 * Codes that say "nothing is wrong with your request; send it again later", with the Retry-After
 * (RFC 9110 §10.2.3) in seconds. A re-sent upload with the same Idempotency-Key is safe: it gets the
 * first answer, or the file is taken once. (RATE_LIMITED sets its own, from the caller's bucket.)
 */
const retryAfterSeconds: Partial<Record<FileErrorCode, number>> = {
  STORE_UNAVAILABLE: 5,
};

/**
 * Every error leaves as `{ code, message, details }` with a registry code: no stack, and nothing from
 * the request body (GatewayError details hold ids, names and counts only). Anything that is not a
 * GatewayError is a bug: logged through the safe serializer, answered 500 INTERNAL.
 */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let error: GatewayError;
    if (err instanceof GatewayError) error = err;
    else if (isBodyParserError(err)) error = new GatewayError(err.type === 'entity.too.large' ? 'REQUEST_TOO_LARGE' : 'USAGE_INVALID', { reason: 'body' });
    else {
      log.error({ err, route: routePattern(req), method: req.method }, 'request failed');
      error = new GatewayError('INTERNAL');
    }
    if (res.headersSent) return void res.end();
    // An answer before the body was read (413, 401 …): the connection cannot be reused for the next request.
    if (!req.complete) res.setHeader('Connection', 'close');
    const retryAfter = retryAfterSeconds[error.code];
    if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
    res.status(error.status).json({ code: error.code, message: error.message, details: error.details ?? {} });
  };
}

function isBodyParserError(err: unknown): err is { type: string } {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string';
}

/** The route pattern that matched (e.g. `/v1/receipts/:id`), never the raw URL, which may hold a token. */
export function routePattern(req: Request): string {
  const route = (req as unknown as { route?: { path?: unknown } }).route;
  return typeof route?.path === 'string' ? route.path : 'unmatched';
}
