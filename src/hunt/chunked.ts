/**
 * Splunk's chunked external search command protocol (v2), as splunklib/searchcommands speaks it:
 * each message is `chunked 1.0,<metadata bytes>,<body bytes>\n`, JSON metadata, then a CSV body,
 * sizes in UTF-8 bytes. Exactly one reply per request.
 */
export interface Chunk {
  metadata: Record<string, unknown>;
  body: string;
}

export class ChunkReader {
  private buffer = Buffer.alloc(0);

  push(data: Buffer): Chunk[] {
    this.buffer = Buffer.concat([this.buffer, data]);
    const chunks: Chunk[] = [];
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline < 0) return chunks;
      const header = /^chunked 1\.0,(\d+),(\d+)$/.exec(this.buffer.subarray(0, newline).toString('ascii').trim());
      if (!header) throw new Error(`Not a chunked protocol header: ${this.buffer.subarray(0, Math.min(newline, 80)).toString('utf8')}`);
      const metaBytes = Number(header[1]);
      const bodyBytes = Number(header[2]);
      const end = newline + 1 + metaBytes + bodyBytes;
      if (this.buffer.length < end) return chunks;
      const metadata = JSON.parse(this.buffer.subarray(newline + 1, newline + 1 + metaBytes).toString('utf8') || '{}') as Record<string, unknown>;
      const body = this.buffer.subarray(newline + 1 + metaBytes, end).toString('utf8');
      chunks.push({ metadata, body });
      this.buffer = this.buffer.subarray(end);
    }
  }
}

export function encodeChunk(metadata: unknown, body = ''): Buffer {
  const meta = Buffer.from(JSON.stringify(metadata), 'utf8');
  const data = Buffer.from(body, 'utf8');
  return Buffer.concat([Buffer.from(`chunked 1.0,${meta.length},${data.length}\n`, 'ascii'), meta, data]);
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Results as the CSV body splunkd reads: a header row, then one row per result. */
export function toCsv(fields: string[], rows: Record<string, string>[]): string {
  if (!rows.length) return '';
  const lines = [fields.map(csvCell).join(',')];
  for (const row of rows) lines.push(fields.map((f) => csvCell(row[f] ?? '')).join(','));
  return lines.join('\r\n') + '\r\n';
}
