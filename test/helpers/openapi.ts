import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { createAjv } from '../../src/lib/ajv.js';
import { projectRoot } from './workspace.js';

type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>; components: { schemas: Record<string, object> } };
const doc = JSON.parse(readFileSync(join(projectRoot, 'docs', 'openapi.json'), 'utf8')) as Doc;
const ajv = createAjv({ strict: false });
ajv.addSchema({ $id: 'openapi', components: doc.components });

/** Asserts that a real response matches the OpenAPI document: the status is listed, and a JSON body fits its schema. */
export async function expectMatchesOpenApi(path: string, method: string, res: Response, body?: unknown): Promise<void> {
  const operation = doc.paths[path]?.[method.toLowerCase()];
  expect(operation, `${method} ${path} is in the OpenAPI document`).toBeDefined();
  const response = operation!.responses[String(res.status)];
  expect(response, `${method} ${path} documents status ${res.status}`).toBeDefined();
  const content = response!.content;
  if (content === undefined) return;
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const media = content[type] ?? (type === 'application/json' ? undefined : content['text/plain']);
  expect(media, `${method} ${path} ${res.status} documents ${type}`).toBeDefined();
  if (type.endsWith('json') && body !== undefined) {
    const schema = JSON.parse(JSON.stringify(media!.schema).replaceAll('"#/components', '"openapi#/components')) as object;
    const validate = ajv.compile(schema);
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true);
  }
}
