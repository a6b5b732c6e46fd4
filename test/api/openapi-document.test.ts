import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/workspace.js';

const doc = JSON.parse(readFileSync(join(projectRoot, 'docs', 'openapi.json'), 'utf8')) as { paths: Record<string, Record<string, { security?: unknown[] }>>; components: { schemas: Record<string, unknown> } };

describe('the OpenAPI document', () => {
  it('embeds exactly the acknowledgement schema of schemas/ack.schema.json', () => {
    const { $schema: _s, $id: _i, ...ack } = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'ack.schema.json'), 'utf8')) as Record<string, unknown>;
    expect(doc.components.schemas.Ack).toEqual(ack);
  });

  it('requires a bearer key on every route except the public keys, the description and the probes', () => {
    const open = new Set(['/.well-known/jwks.json', '/v1/keys/pgp', '/v1/openapi.json', '/healthz', '/readyz', '/metrics']);
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const op of Object.values(methods)) {
        if (open.has(path)) expect(op.security, path).toEqual([]);
        else expect(op.security, path).toEqual([{ bearer: [] }]);
      }
    }
  });
});
