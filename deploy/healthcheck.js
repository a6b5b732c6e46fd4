// Container HEALTHCHECK for the gateway image: GET the liveness probe, exit 0 on 200, 1 otherwise.
// Usage: node deploy/healthcheck.js [URL]   (default https://127.0.0.1:8440/healthz, api.port's default)
//
// The certificate is not verified: this runs inside the container against loopback, where the served
// certificate names the service, not 127.0.0.1, and /healthz carries no data. (kubelet's HTTPS probes
// do not verify either.)
import http from 'node:http';
import https from 'node:https';
import { argv, exit } from 'node:process';
import { URL } from 'node:url';

const url = new URL(argv[2] ?? 'https://127.0.0.1:8440/healthz');
const client = url.protocol === 'https:' ? https : http;
const request = client.get(url, { rejectUnauthorized: false, timeout: 4000 }, (res) => {
  res.resume();
  exit(res.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => request.destroy(new Error('timeout')));
request.on('error', () => exit(1));
