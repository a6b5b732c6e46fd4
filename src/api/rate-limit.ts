import type { NextFunction, Request, Response } from 'express';
import type { Clock } from '../lib/clock.js';
import { GatewayError } from '../errors/gateway-error.js';
import { callerOf } from './auth.js';

/**
 * A token bucket per authenticated caller: `perMinute` requests a minute, bursts up to the same.
 * In memory, per process; buckets of callers idle for a minute are full again and are dropped, so
 * memory is bounded by the number of configured callers.
 */
export function rateLimit(perMinute: number, clock: Clock) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return (_req: Request, res: Response, next: NextFunction): void => {
    const caller = callerOf(res);
    const key = `${caller.role}:${caller.id}`;
    const now = clock.now().getTime();
    const bucket = buckets.get(key) ?? { tokens: perMinute, at: now };
    bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      res.setHeader('Retry-After', String(Math.ceil((1 - bucket.tokens) / refillPerMs / 1000)));
      return next(new GatewayError('RATE_LIMITED'));
    }
    bucket.tokens -= 1;
    next();
  };
}
