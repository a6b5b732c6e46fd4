import { Ajv2020, type Options } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

/** An ajv for JSON Schema 2020-12 with the standard formats (full mode: real calendar dates). */
export function createAjv(options: Options = {}): Ajv2020 {
  // strictRequired off: `if/then` branches name fields declared in the parent's properties.
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, ...options });
  // NodeNext types ajv-formats as the CJS module object; its function is the default export.
  addFormats.default(ajv, { mode: 'full', formats: ['date', 'date-time', 'email', 'uri'] });
  return ajv;
}
