import type { Writable } from 'node:stream';
import { xmlContent, xmlText } from './xml.js';

/** One Splunk event as the modular-input XML stream carries it. */
export interface SplunkEvent {
  /** Epoch milliseconds; becomes `_time`. */
  timeMs: number;
  data: string;
  sourcetype: string;
  source?: string;
  index?: string;
  host?: string;
}

/**
 * Writes `<stream><event>…</event>…</stream>` to splunkd's stdout pipe.
 * Respects back-pressure (waits for 'drain'), and `flush()` resolves only once everything
 * written so far has been handed to the OS, which is what the checkpoint waits for.
 */
export class EventWriter {
  private opened = false;
  private closed = false;
  private readonly stanza: string;

  constructor(private readonly out: Writable, stanza: string) {
    this.stanza = xmlText(stanza);
  }

  /** Writes a batch (typically one API page) and resolves when it has been flushed. */
  async writeEvents(events: Iterable<SplunkEvent>): Promise<number> {
    let count = 0;
    let chunk = this.opened ? '' : '<stream>';
    this.opened = true;
    for (const event of events) {
      chunk += this.format(event);
      count++;
      // Keep chunks moderate so a huge page does not build one giant string.
      if (chunk.length > 1 << 20) {
        await this.write(chunk);
        chunk = '';
      }
    }
    if (chunk) await this.write(chunk);
    return count;
  }

  /** Closes the stream; safe to call when nothing was written (an empty stream is valid). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.write(this.opened ? '</stream>' : '<stream></stream>');
    this.opened = true;
  }

  private format(event: SplunkEvent): string {
    const parts = [
      `<event stanza="${this.stanza}"><time>${(event.timeMs / 1000).toFixed(3)}</time>`,
      `<sourcetype>${xmlContent(event.sourcetype)}</sourcetype>`,
    ];
    if (event.source) parts.push(`<source>${xmlContent(event.source)}</source>`);
    if (event.index) parts.push(`<index>${xmlContent(event.index)}</index>`);
    if (event.host) parts.push(`<host>${xmlContent(event.host)}</host>`);
    parts.push(`<data>${xmlContent(event.data)}</data></event>`);
    return parts.join('');
  }

  private write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      // The callback fires once this chunk is flushed (or failed); that is also back-pressure:
      // we never queue a second chunk before the first left the process.
      this.out.write(text, 'utf8', (error) => (error ? reject(error) : resolve()));
    });
  }
}
