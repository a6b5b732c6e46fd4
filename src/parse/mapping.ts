import type { RecordKind } from '../config/types.js';
import { GatewayError } from '../errors/gateway-error.js';

export interface ColumnMapper {
  /** Number of columns a CSV row must have. */
  readonly width: number;
  toFields(cells: readonly string[], dropped: Map<string, number>): Record<string, string>;
  objectToFields(object: Readonly<Record<string, unknown>>, dropped: Map<string, number>): Record<string, unknown>;
}

/**
 * A column name we may echo in an acknowledgement's `dropped_fields`. A file sent without its
 * header row would make its first record the "column names": those must never be echoed.
 */
const echoableName = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Distinct dropped names counted one by one, at most. NDJSON keys are the sender's to choose, so a
 * file with a new unknown key on every line would otherwise grow this map (and the acknowledgement)
 * with its record count; past the cap, further new names are counted together as `other_fields`.
 * A CSV header is limited by maxRecordBytes anyway.
 */
export const maxDroppedFieldNames = 256;
const otherDroppedFields = 'other_fields';

/**
 * Maps a source's column names to canonical field names (per-source `mapping`), once per file.
 * Unknown columns are dropped at the door and counted per record, never stored.
 * @param header CSV header cells, or null for NDJSON (keys are mapped per object).
 * @throws GatewayError PARSE_HEADER_MISSING when the header lacks `mustName`; PARSE_HEADER_DUPLICATE.
 */
export function columnMapper(
  header: readonly string[] | null,
  options: { mapping: Readonly<Record<string, string>>; knownFields: ReadonlySet<string>; kind: RecordKind },
  mustName: string,
): ColumnMapper {
  const { mapping, knownFields } = options;
  const canonical = (name: string) => mapping[name] ?? name;
  const droppedName = (name: string, fallback: string) => (echoableName.test(name) ? name : fallback);

  const columns = (header ?? []).map((cell, i) => {
    const name = canonical(cell.trim());
    return { name, known: knownFields.has(name), dropAs: droppedName(name, `column_${i + 1}`) };
  });
  if (header !== null) {
    if (!columns.some((c) => c.name === mustName)) throw new GatewayError('PARSE_HEADER_MISSING', { mustName });
    const names = columns.map((c) => c.name);
    if (new Set(names).size !== names.length) throw new GatewayError('PARSE_HEADER_DUPLICATE');
  }

  return {
    width: columns.length,
    toFields(cells, dropped) {
      const fields: Record<string, string> = {};
      for (let i = 0; i < columns.length; i++) {
        const cell = cells[i]!;
        if (cell === '') continue;
        const column = columns[i]!;
        if (column.known) fields[column.name] = cell;
        else dropped.set(column.dropAs, (dropped.get(column.dropAs) ?? 0) + 1);
      }
      return fields;
    },
    objectToFields(object, dropped) {
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(object)) {
        if (value === null || value === '') continue;
        const name = canonical(key);
        if (knownFields.has(name)) fields[name] = value;
        else {
          let as = droppedName(name, 'unnamed_field');
          if (dropped.size >= maxDroppedFieldNames && !dropped.has(as)) as = otherDroppedFields;
          dropped.set(as, (dropped.get(as) ?? 0) + 1);
        }
      }
      return fields;
    },
  };
}
