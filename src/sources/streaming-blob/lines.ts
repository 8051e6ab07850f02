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
