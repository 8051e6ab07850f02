import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import type { ActionPayload } from '../payload.js';
import { decodeMultivalue } from '../results.js';

/** One search result as an action sees it: its fields, and its result id for ES (rid, else its row number). */
export interface ResultRow {
  rid: string;
  fields: Record<string, string>;
}

/** The values of a field in a row: the exact `__mv_` form when present, else the newline-joined cell. */
export function fieldValues(row: Record<string, string>, field: string): string[] {
  const mv = row[`__mv_${field}`];
  const values = mv ? decodeMultivalue(mv) : (row[field] ?? '').split('\n');
  return values.map((v) => v.trim()).filter(Boolean);
}

/**
 * The results splunkd wrote for the action (gzipped CSV), streamed; at most `maxRows` are kept
 * (the total is still counted). Without a results file, the inline first result is the only row.
 */
export async function readResultRows(payload: ActionPayload, maxRows: number): Promise<{ rows: ResultRow[]; total: number }> {
  const rows: ResultRow[] = [];
  let total = 0;
  const keep = (fields: Record<string, string>) => {
    // cim_actions.py: a result without rid gets its row number.
    if (rows.length < maxRows) rows.push({ rid: fields.rid || String(total), fields });
    total++;
  };
  if (!payload.resultsFile) {
    if (payload.result && Object.keys(payload.result).length) keep(payload.result);
    return { rows, total };
  }
  const parser = parse({ columns: true, bom: true, relax_column_count: true, skip_empty_lines: true });
  const collect = (async () => {
    for await (const row of parser as AsyncIterable<Record<string, string>>) keep(row);
  })();
  const source = createReadStream(payload.resultsFile);
  try {
    await Promise.all([payload.resultsFile.endsWith('.gz') ? pipeline(source, createGunzip(), parser) : pipeline(source, parser), collect]);
  } catch (error) {
    throw new Error(`Cannot read the search results (${payload.resultsFile}): ${(error as Error).message}`);
  }
  return { rows, total };
}
