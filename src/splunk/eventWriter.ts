import type { Writable } from 'node:stream';
import { xmlContent, xmlContentBytes, xmlText } from './xml.js';

/** One Splunk event as the modular-input XML stream carries it. */
export interface SplunkEvent {
  /** Epoch milliseconds; becomes `_time`. */
  timeMs: number;
  /**
   * The event text. Bytes are an API item's JSON exactly as received, which JSON.parse accepted
   * (see sources/rawJson.ts): UTF-8 is still checked, but they cannot hold a raw control character.
   * They are written as they are when they need no escaping.
   */
  data: string | Buffer;
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
  private readonly stanza: string;

  /** `stream`: the `<stream>` this writer shares with the other stanzas of a resident process (forStanza). */
  constructor(
    private readonly out: Writable,
    stanza: string,
    private readonly stream = { opened: false, closed: false },
  ) {
    this.stanza = xmlText(stanza);
    // A closed pipe (splunkd stopped) reaches the write callbacks; without a listener the same
    // error would also be thrown as an unhandled 'error' event and crash the process.
    if (!out.listenerCount('error')) out.on('error', () => undefined);
  }

  /** A writer for another stanza into the same `<stream>` (single-instance mode: every event names its stanza). */
  forStanza(stanza: string): EventWriter {
    return new EventWriter(this.out, stanza, this.stream);
  }

  /** Writes a batch (typically one API page) and resolves when it has been flushed. */
  async writeEvents(events: Iterable<SplunkEvent>): Promise<number> {
    const chunks: (string | Buffer)[] = [];
    let count = 0;
    for (const event of events) {
      this.format(event, chunks);
      count++;
    }
    if (!count) return 0;
    // Nothing may follow </stream>: a poll still writing when a resident process stops fails
    // here, before its checkpoint moves.
    if (this.stream.closed) throw new Error('The event stream to splunkd is closed.');
    if (!this.stream.opened) chunks[0] = '<stream>' + chunks[0];
    this.stream.opened = true;
    // Corked, each chunk is its own buffered write and the batch leaves as one writev: no large
    // concatenated string to build and flatten, and event bytes from the API are never copied.
    // Callbacks run in order, so the last one resolving means the whole batch has left.
    this.out.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.out.write(chunks[i]);
    const flushed = this.write(chunks[chunks.length - 1]);
    this.out.uncork();
    await flushed;
    return count;
  }

  /** Closes the stream; safe to call when nothing was written (an empty stream is valid). */
  async close(): Promise<void> {
    if (this.stream.closed) return;
    this.stream.closed = true;
    await this.write(this.stream.opened ? '</stream>' : '<stream></stream>');
    this.stream.opened = true;
  }

  /** Appends the event's chunks: markup before the data, the data, markup after. */
  private format(event: SplunkEvent, chunks: (string | Buffer)[]): void {
    const head =
      `<event stanza="${this.stanza}"><time>${(event.timeMs / 1000).toFixed(3)}</time><sourcetype>${xmlContent(event.sourcetype)}</sourcetype>` +
      (event.source ? `<source>${xmlContent(event.source)}</source>` : '') +
      (event.index ? `<index>${xmlContent(event.index)}</index>` : '') +
      (event.host ? `<host>${xmlContent(event.host)}</host>` : '') +
      '<data>';
    const data = typeof event.data === 'string' ? xmlContent(event.data) : xmlContentBytes(event.data, true);
    if (typeof data === 'string') {
      chunks.push(head + data + '</data></event>');
    } else {
      chunks.push(head, data, '</data></event>');
    }
  }

  private write(text: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      // The callback fires once this chunk is flushed (or failed); that is also back-pressure:
      // we never queue a second chunk before the first left the process.
      this.out.write(text, (error) => (error ? reject(error) : resolve()));
    });
  }
}
