/**
 * splunkd's persistent REST protocol (restmap.conf `scripttype = persist`), as
 * splunk/persistconn/packet.py and handle_loop.py implement it. splunkd writes packets: an opcode
 * byte (0x01 start, 0x02 block, 0x04 end), on start a count of command pieces and the pieces, then
 * the command argument, on block the request, each string as `<byte length>\n<bytes>`. The server
 * answers a start with an empty string (no error) and a block with the reply, length-prefixed alike.
 */
export const OPCODE = { INIT: 0x01, BLOCK: 0x02, END: 0x04 } as const;

export interface Packet {
  opcode: number;
  command?: string[];
  commandArg?: string;
  block?: Buffer;
}

/** Incremental parser: feed bytes, take complete packets. */
export class PacketReader {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): Packet[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const packets: Packet[] = [];
    for (;;) {
      const parsed = this.parse();
      if (!parsed) return packets;
      packets.push(parsed.packet);
      this.buffer = this.buffer.subarray(parsed.used);
    }
  }

  private parse(): { packet: Packet; used: number } | undefined {
    let at = 0;
    while (at < this.buffer.length && this.buffer[at] === 0x0a) at++;
    if (at >= this.buffer.length) return undefined;
    const packet: Packet = { opcode: this.buffer[at++]! };
    const number = (): number | undefined => {
      while (this.buffer[at] === 0x0a) at++;
      const end = this.buffer.indexOf(0x0a, at);
      if (end < 0) return undefined;
      const n = Number(this.buffer.subarray(at, end).toString('ascii'));
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`persistconn: expected a non-negative integer, got "${this.buffer.subarray(at, end).toString('ascii')}"`);
      at = end + 1;
      return n;
    };
    const string = (): Buffer | undefined => {
      const n = number();
      if (n === undefined || at + n > this.buffer.length) return undefined;
      const value = this.buffer.subarray(at, at + n);
      at += n;
      return value;
    };
    if (packet.opcode & OPCODE.INIT) {
      const pieces = number();
      if (pieces === undefined) return undefined;
      packet.command = [];
      for (let i = 0; i < pieces; i++) {
        const piece = string();
        if (piece === undefined) return undefined;
        packet.command.push(piece.toString('utf8'));
      }
      const arg = string();
      if (arg === undefined) return undefined;
      packet.commandArg = arg.toString('utf8');
    }
    if (packet.opcode & OPCODE.BLOCK) {
      const block = string();
      if (block === undefined) return undefined;
      packet.block = Buffer.from(block);
    }
    return { packet, used: at };
  }
}

/** One length-prefixed string, as the server writes its answers. */
export function frame(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`${bytes.length}\n`, 'ascii'), bytes]);
}

/** A request packet as splunkd writes it (start, block and end in one). */
export function requestPacket(command: string[], request: string): Buffer {
  const parts: Buffer[] = [Buffer.from([OPCODE.INIT | OPCODE.BLOCK | OPCODE.END]), Buffer.from(`${command.length}\n`)];
  for (const piece of command) parts.push(frame(piece));
  parts.push(frame(''), frame(request));
  return Buffer.concat(parts);
}

/** The request splunkd sends in the block (the fields this add-on reads). */
export interface PersistRequest {
  method?: string;
  rest_path?: string;
  form?: [string, string][];
  query?: [string, string][];
  session?: { user?: string; authtoken?: string };
  system_authtoken?: string;
  server?: { rest_uri?: string };
  ns?: { app?: string; user?: string };
}

export interface PersistReply {
  status: number;
  payload: string;
  headers?: Record<string, string>;
}

/** Serves packets from `input`, answering each request with `handle`, one at a time (splunkd sends one per connection at a time). */
export function servePersistent(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, handle: (request: PersistRequest) => Promise<PersistReply>): Promise<void> {
  const reader = new PacketReader();
  let chain = Promise.resolve();
  return new Promise((resolve) => {
    input.on('data', (chunk: Buffer) => {
      for (const packet of reader.push(chunk)) {
        chain = chain.then(async () => {
          if (packet.opcode & OPCODE.INIT) output.write(frame(''));
          if (packet.block) {
            let reply: PersistReply;
            try {
              reply = await handle(JSON.parse(packet.block.toString('utf8')) as PersistRequest);
            } catch (error) {
              reply = { status: 500, payload: JSON.stringify({ messages: [{ type: 'ERROR', text: (error as Error).message }] }) };
            }
            output.write(frame(JSON.stringify(reply)));
          }
        });
      }
    });
    input.on('end', () => void chain.then(resolve));
  });
}
