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
  router.get('/readyz', async (_req, res) => {
    const checks = { database: 'ok', keys: deps.keys.pgpPrivateKeys.length > 0 ? 'ok' : 'missing' };
    try {
      await deps.store.ping();
    } catch (err) {
      deps.log.warn({ err }, 'readiness: database check failed');
      checks.database = 'unavailable';
    }
    const ready = Object.values(checks).every((c) => c === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  router.get('/metrics', async (_req, res) => void res.type('text/plain; version=0.0.4').send(await metrics.render(deps.store, () => overdueRecalls(deps))));
  return router;
}

/** The public halves of the gateway's JOSE keys: `d`, `p`, `q`, `dp`, `dq`, `qi` never leave. */
function publicJwksOf(deps: Deps): { keys: object[] } {
  const privateMembers = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);
  const raw = JSON.parse(readFileSync(deps.config.keys.jwksFile, 'utf8')) as { keys: Array<Record<string, unknown>> };
  return { keys: raw.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([name]) => !privateMembers.has(name)))) };
}
