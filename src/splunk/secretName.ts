/** splunkd's storage/passwords entity name: `<realm>:<username>:` with ':' escaped as '\:' in both parts. */
export function secretName(realm: string, username: string): string {
  const escape = (s: string): string => s.replace(/:/g, '\\:');
  return `${escape(realm)}:${escape(username)}:`;
}
