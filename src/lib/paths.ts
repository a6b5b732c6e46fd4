import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { readFileSync } from 'node:fs';

/** The package root: two levels above this module, whether it runs from src/lib or dist/lib. */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Reads one of the JSON Schemas shipped in schemas/. */
export function readSchema(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(packageRoot, 'schemas', `${name}.schema.json`), 'utf8')) as Record<string, unknown>;
}
