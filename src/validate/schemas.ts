import type { ErrorObject, ValidateFunction } from 'ajv';
import { createAjv } from '../lib/ajv.js';
import { readSchema } from '../lib/paths.js';
import type { RecordKind } from '../config/types.js';

/** The record schemas of schemas/, compiled once per process. */
export interface RecordSchemas {
  readonly validators: Readonly<Record<RecordKind, ValidateFunction>>;
  /** Field names each kind knows; any other column is dropped at the door and counted. */
  readonly knownFields: Readonly<Record<RecordKind, ReadonlySet<string>>>;
}

let compiled: RecordSchemas | undefined;

export function recordSchemas(): RecordSchemas {
  if (compiled !== undefined) return compiled;
  const ajv = createAjv({ allErrors: true });
  const kinds: RecordKind[] = ['placement', 'recall', 'update'];
  const validators = {} as Record<RecordKind, ValidateFunction>;
  const knownFields = {} as Record<RecordKind, ReadonlySet<string>>;
  for (const kind of kinds) {
    const schema = readSchema(kind);
    validators[kind] = ajv.compile(schema);
    knownFields[kind] = new Set(Object.keys(schema.properties as object));
  }
  compiled = { validators, knownFields };
  return compiled;
}

export type SchemaError = ErrorObject;
