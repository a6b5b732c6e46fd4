import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { credentialsFrom } from './api/auth.js';
import { errorHandler } from './api/error-handler.js';
import { Metrics } from './api/metrics.js';
import { publicRoutes } from './api/routes/public.js';
import { officerRoutes } from './api/routes/officers.js';
import { recipientRoutes } from './api/routes/recipients.js';
import { ChainMonitor } from './audit/chain-monitor.js';
import { dashboardRoutes } from './officers/dashboard.js';
import { OfficerSessions } from './officers/sessions.js';
import { sourceRoutes } from './api/routes/sources.js';
import type { Deps } from './deps.js';
import { GatewayError } from './errors/gateway-error.js';

export interface App {
  readonly server: http.Server | https.Server;
  readonly metrics: Metrics;
  /** Starts listening; resolves with the bound port and base URL. Never called by buildApp itself. */
  listen(port?: number): Promise<{ port: number; url: string }>;
  /** Stops accepting, waits for in-flight requests and background files. */
  close(): Promise<void>;
}

/**
 * Builds the HTTP(S) API over the dependencies (fastify's testing idea: build, don't listen), so that
 * tests boot the real app on port 0 and `serve` listens on the configured port.
 */
export function buildApp(deps: Deps): App {
  const metrics = new Metrics();
  const background = new Set<Promise<unknown>>();
  const credentials = credentialsFrom(deps.config);
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(metrics.timer());
  app.use(publicRoutes(deps, metrics));
  app.use(sourceRoutes({ deps, credentials, metrics, background }));
  app.use(recipientRoutes(deps, credentials));
  // In the store: a session made on one replica is honoured by every other.
  const sessions = new OfficerSessions(deps.store, deps.clock);
  const monitor = new ChainMonitor();
  app.use(officerRoutes(deps, credentials, sessions, monitor));
  app.use(dashboardRoutes(deps, credentials, sessions, monitor, deps.config.api.tlsCertFile !== null));
  app.use((_req, _res, next) => next(new GatewayError('NOT_FOUND')));
  app.use(errorHandler(deps.log));

  const { tlsCertFile, tlsKeyFile, host } = deps.config.api;
  const server = tlsCertFile !== null && tlsKeyFile !== null
    ? https.createServer({ cert: readFileSync(tlsCertFile), key: readFileSync(tlsKeyFile), minVersion: 'TLSv1.2' }, app)
    : http.createServer(app);
  // Bounded slowloris exposure: a client must send its headers promptly.
  server.headersTimeout = 20_000;
  server.requestTimeout = 15 * 60_000;

  return {
    server,
    metrics,
    listen: (port = deps.config.api.port) => new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const bound = (server.address() as AddressInfo).port;
        const scheme = server instanceof https.Server ? 'https' : 'http';
        resolve({ port: bound, url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${bound}` });
      });
    }),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await Promise.allSettled([...background]);
    },
  };
}
