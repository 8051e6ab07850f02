const LF = 0x0a;

/**
 * The complete lines at the start of a JSON-lines buffer (LF or CRLF ended) and how many bytes
 * they take. The rest is a line still being written: it is read again, whole, on a later pass.
 * Splitting on the LF byte is safe in UTF-8 (no multi-byte character contains 0x0A).
 */
export function completeLines(buffer: Buffer): { lines: string[]; consumed: number } {
  const last = buffer.lastIndexOf(LF);
  if (last < 0) return { lines: [], consumed: 0 };
  const lines: string[] = [];
  for (const text of buffer.toString('utf8', 0, last).split('\n')) {
    // A slice shares the text's characters; a regex replace copied every line.
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (line.trim() !== '') lines.push(line);
  }
  return { lines, consumed: last + 1 };
}

/**
 * Bytes of lines turned into events at a time. A 1 MiB range decoded whole made one string too
 * large for V8's young generation and kept ~1,000 records' objects and events alive at once, so
 * that collections copied and promoted them: in 64 KiB batches (~55 records) a 60k-record run took
 * 1.49 -> 1.14 s of CPU and 94 -> 84 MB (16 to 128 KiB did as well; 256 KiB 1.20 s).
 */
export const BATCH_BYTES = 64 * 1024;

/** The end of the last complete line of a buffer (0 when it has none). */
export function linesEnd(buffer: Buffer): number {
  return buffer.lastIndexOf(LF) + 1;
}

/**
 * The complete lines of `buffer` before `end` (a line end), in batches of at most `batchBytes`,
 * cut at line ends; a line longer than that is a batch of its own.
 */
export function* lineBatches(buffer: Buffer, end: number, batchBytes = BATCH_BYTES): Generator<string[]> {
  for (let from = 0; from < end; ) {
    let to = from + batchBytes >= end ? end : buffer.lastIndexOf(LF, from + batchBytes - 1) + 1;
    if (to <= from) to = buffer.indexOf(LF, from + batchBytes) + 1;
    const { lines } = completeLines(buffer.subarray(from, to));
    if (lines.length) yield lines;
    from = to;
  }
}

/**
 * A blob's last bytes without a line end are emitted only when they are a whole JSON object:
 * the writer may have ended the blob without a final newline, while a record still being
 * appended can never parse (its closing brace comes last).
 */
export function isWholeRecord(text: string): boolean {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{') || !trimmed.endsWith('}')) return false;
  try {
    JSON.parse(trimmed);
    return true;
  } catch {
    return false;
  }
}
