import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';

/** The ids of one results file, in order, each once; with what was wrong with the other rows. */
export interface IdList {
  rows: number;
  ids: string[];
  /** Rows without a value in the id field. */
  rowsWithoutId: number;
}

/**
 * Splunk writes a multivalue field twice: `field` holds the values joined by newlines, and
 * `__mv_field` holds `$v1$;$v2$` with `$` doubled inside values. The `__mv_` form is exact.
 */
export function decodeMultivalue(encoded: string): string[] {
  const values: string[] = [];
  const re = /\$((?:[^$]|\$\$)*)\$(?:;|$)/g;
  for (let m = re.exec(encoded); m; m = re.exec(encoded)) values.push(m[1]!.replace(/\$\$/g, '$'));
  return values;
}

export function idsOfRow(row: Record<string, string>, idField: string): string[] {
  const mv = row[`__mv_${idField}`];
  const values = mv ? decodeMultivalue(mv) : (row[idField] ?? '').split('\n');
  return values.map((v) => v.trim()).filter(Boolean);
}

/**
 * Reads the search results splunkd wrote for the action (results_file: gzipped CSV with a header
 * row) as a stream, so large result sets never sit in memory as text.
 */
export async function readIds(resultsFile: string, idField: string): Promise<IdList> {
  const seen = new Set<string>();
  const list: IdList = { rows: 0, ids: [], rowsWithoutId: 0 };
  const parser = parse({ columns: true, bom: true, relax_column_count: true, skip_empty_lines: true });
  const collect = (async () => {
    for await (const row of parser as AsyncIterable<Record<string, string>>) {
      list.rows++;
      const ids = idsOfRow(row, idField);
      if (ids.length === 0) list.rowsWithoutId++;
      for (const id of ids) {
        if (!seen.has(id)) {
          seen.add(id);
          list.ids.push(id);
        }
      }
    }
  })();
  const source = createReadStream(resultsFile);
  // splunkd names it results.csv.gz; a plain CSV (e.g. a hand-run test) is read as is.
  await Promise.all([resultsFile.endsWith('.gz') ? pipeline(source, createGunzip(), parser) : pipeline(source, parser), collect]);
  return list;
}
