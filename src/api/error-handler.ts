import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../lib/log.js';

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
