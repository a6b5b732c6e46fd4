import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import type { Deps } from '../../deps.js';
import { packageRoot } from '../../lib/paths.js';
import { overdueRecalls } from '../../release/recalls.js';
import type { Metrics } from '../metrics.js';

/**
 * Routes that need no caller: what a creditor needs to encrypt to the gateway (its public keys, the
 * API description) and what an orchestrator probes. None of them touches subject data.
 */
export function publicRoutes(deps: Deps, metrics: Metrics): Router {
  const router = Router();
  const openapi = readFileSync(join(packageRoot, 'docs', 'openapi.json'), 'utf8');
  const publicJwks = JSON.stringify(publicJwksOf(deps));
  const pgpPublic = deps.keys.pgpPrivateKeys.map((k) => k.toPublic().armor()).join('\n');

  router.get('/.well-known/jwks.json', (_req, res) => void res.type('application/jwk-set+json').send(publicJwks));
  router.get('/v1/keys/pgp', (_req, res) => void res.type('application/pgp-keys').send(pgpPublic));
  router.get('/v1/openapi.json', (_req, res) => void res.type('application/json').send(openapi));
  router.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  const database = databaseCheck(deps);
  router.get('/readyz', async (_req, res) => {
    const checks = { database: await database(), keys: deps.keys.pgpPrivateKeys.length > 0 ? 'ok' : 'missing' };
    const ready = Object.values(checks).every((c) => c === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  router.get('/metrics', async (_req, res) => void res.type('text/plain; version=0.0.4').send(await metrics.render(deps.store, () => overdueRecalls(deps))));
  return router;
}

/**
 * A database that does not answer at all (a partition drops packets) counts as unavailable after this
 * long, in ms: the probe gets its 503 within its own timeout (5 s in deploy/k8s) instead of timing out.
 */
const databaseCheckTimeoutMs = 3_000;

/**
 * The readiness check of the store: `ok` or `unavailable`. A change of state is logged once (a probe
 * every few seconds through an outage would otherwise log the same failure each time).
 */
function databaseCheck(deps: Deps): () => Promise<'ok' | 'unavailable'> {
  let last: 'ok' | 'unavailable' = 'ok';
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the database within ${databaseCheckTimeoutMs} ms`)), databaseCheckTimeoutMs);
    });
    let state: 'ok' | 'unavailable' = 'ok';
    try {
      await Promise.race([deps.store.ping(), timeout]);
    } catch (err) {
      state = 'unavailable';
      if (last === 'ok') deps.log.warn({ err }, 'readiness: the database is unavailable; uploads are answered 503 STORE_UNAVAILABLE until it is back');
    } finally {
      clearTimeout(timer);
    }
    if (state === 'ok' && last === 'unavailable') deps.log.info('readiness: the database is available again');
    last = state;
    return state;
  };
}

/** The public halves of the gateway's JOSE keys: `d`, `p`, `q`, `dp`, `dq`, `qi` never leave. */
function publicJwksOf(deps: Deps): { keys: object[] } {
  const privateMembers = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
  const raw = JSON.parse(readFileSync(deps.config.keys.jwksFile, 'utf8')) as { keys: Array<Record<string, unknown>> };
  return { keys: raw.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([name]) => !privateMembers.has(name)))) };
}
