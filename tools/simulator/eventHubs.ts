/**
 * TEST TOOL — an Event Hubs namespace on loopback that speaks AMQP 1.0 (rhea) as the service does
 * to @azure/event-hubs 6, over TLS (amqps) and over WebSockets (`wss://<host>/$servicebus/websocket`,
 * subprotocol AMQPWSB10). What it implements, and why each, is in docs/event-hubs-stand-in.md; the
 * wire facts (CBS, management READ, filters, annotations, epochs, error conditions) are from
 * shared/reference/event-hubs-amqp.md:
 * - CBS put-token on `$cbs`: SAS tokens are checked against the policy's key (HMAC-SHA256 over
 *   `<encoded sr>\n<se>`, expiry, Listen right), JWTs by a callback (the Entra simulator's tokens);
 *   a partition receiver attaches only with a token whose audience covers it;
 * - management READ on `$management` for the hub and each partition (security_token checked);
 * - partition senders honouring the selector filter (offset, sequence number, enqueued time;
 *   `>` and `>=`), link credit, consumer groups and epochs (a receiver with epoch ≥ the others
 *   detaches them with amqp:link:stolen; a lower epoch, or none beside an epoch receiver, is refused);
 * - messages as the Streaming API sends them: a data section of UTF-8 JSON with the three
 *   annotations (x-opt-sequence-number long, x-opt-offset string, x-opt-enqueued-time timestamp);
 * - faults injected on purpose: server busy, forced detach, dropped connection, unauthorized,
 *   entity not found, slow deliveries.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import rhea, { type Connection, type EventContext, type Message, type Receiver, type Sender } from 'rhea';
import { WebSocketServer, type WebSocket } from 'ws';

export type OffsetStyle = 'bytes' | 'opaque';

export interface SasPolicy {
  name: string;
  key: string;
  rights?: ('Listen' | 'Send' | 'Manage')[];
}

export interface HubSpec {
  name: string;
  partitions: number;
  /** `$Default` is always there. */
  consumerGroups?: string[];
}

export interface EventHubsStandInOptions {
  tls: { key: string; cert: string };
  hubs: HubSpec[];
  policies?: SasPolicy[];
  /** Why an Entra access token is refused (undefined: accepted). Without it, JWTs are refused. */
  jwtProblem?: (token: string) => string | undefined;
  /**
   * `bytes`: offsets are the byte position in the partition, as the service's were ("4096");
   * `opaque`: "s1:<bytes>", which only an exact lookup resolves (geo-replicated namespaces).
   */
  offsetStyle?: OffsetStyle;
  /** Also listen for amqps (TLS, AMQP's port 5671 on the service). */
  amqps?: boolean;
  /**
   * The namespace's host name as clients name it (e.g. contoso.servicebus.windows.net, reached on
   * port 443 through a proxy that maps it here), for audiences; default `127.0.0.1:<port>`.
   */
  namespaceName?: string;
}

export type FaultKind = 'server-busy' | 'detach' | 'drop' | 'unauthorized' | 'not-found' | 'slow';

/**
 * One injected fault. `server-busy`, `detach` and `drop` hit an open partition link after
 * `afterDeliveries` messages on it (`server-busy` without it refuses the attach instead);
 * `unauthorized` answers put-token with 401; `not-found` refuses the partition attach;
 * `slow` waits `delayMs` before each delivery. Each fires `times` times (default 1; slow: forever).
 */
export interface Fault {
  kind: FaultKind;
  partition?: string;
  afterDeliveries?: number;
  delayMs?: number;
  times?: number;
}

interface StoredEvent {
  sequenceNumber: number;
  offset: string;
  enqueuedTime: number;
  body: Buffer;
  properties?: Record<string, string | number | boolean>;
}

interface Partition {
  events: StoredEvent[];
  nextByte: number;
}

interface Hub {
  spec: HubSpec;
  createdAt: Date;
  groups: Set<string>;
  partitions: Map<string, Partition>;
}

interface GrantedToken {
  audience: string;
  /** SAS: the token's resource, which covers every audience it prefixes. */
  prefix: boolean;
  expiresAt: number;
}

/** One open partition receiver, seen from the service's side (a sender). */
interface PartitionLink {
  sender: Sender;
  connection: Connection;
  hub: string;
  group: string;
  partition: string;
  epoch?: number;
  next: number;
  delivered: number;
  runtimeMetric: boolean;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

/** What the stand-in saw, for tests. */
export interface Attach {
  hub: string;
  group: string;
  partition: string;
  filter: string;
  epoch?: number;
  receiverName?: string;
  connectionId: string;
  at: number;
  outcome: 'open' | string;
  /** Deliveries sent pre-settled (the receiver did not ask for unsettled ones). */
  presettled: boolean;
}

const SELECTOR = 'apache.org:selector-filter:string';
const PARTITION_SOURCE = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/([^/]+)$/i;
const FILTER = /^amqp\.annotation\.x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'([^']*)'$/;

export class EventHubsStandIn {
  readonly hubs = new Map<string, Hub>();
  readonly faults: Fault[] = [];
  readonly attaches: Attach[] = [];
  /** put-token requests answered, by type and outcome. */
  readonly cbs: { type: string; audience: string; status: number }[] = [];
  readonly managementReads: { type: string; partition?: string; status: number }[] = [];
  /** Dispositions that settled a partition delivery (none when deliveries go pre-settled). */
  partitionSettlements = 0;
  private readonly container = rhea.create_container({ id: 'eventhubs-stand-in' });
  private readonly granted = new WeakMap<Connection, GrantedToken[]>();
  private readonly links = new Set<PartitionLink>();
  private readonly kills = new WeakMap<Connection, () => void>();
  private readonly connections = new Set<Connection>();
  private readonly https: HttpsServer;
  private readonly wss: WebSocketServer;
  private tls?: TlsServer;
  private connectionCount = 0;
  host = '127.0.0.1';
  port = 0;
  amqpsPort = 0;

  constructor(private readonly options: EventHubsStandInOptions) {
    for (const spec of options.hubs) this.addHub(spec);
    this.https = createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, (_req, res) => res.writeHead(404).end());
    // The SDK offers AMQPWSB10 and fails the connection when the server echoes none.
    this.wss = new WebSocketServer({ server: this.https, path: '/$servicebus/websocket', handleProtocols: (protocols) => (protocols.has('AMQPWSB10') ? 'AMQPWSB10' : false) });
    this.wss.on('connection', (ws: WebSocket) => {
      const id = `ws-${++this.connectionCount}`;
      this.container.websocket_accept(ws as never, { id } as never);
      this.pendingKills.set(id, () => ws.terminate());
    });
    this.container.on('connection_open', (context: EventContext) => {
      const connection = context.connection;
      this.connections.add(connection);
      const id = connection.options.id ?? '';
      const socket = (connection as unknown as { socket?: TLSSocket }).socket;
      this.kills.set(connection, this.pendingKills.get(id) ?? (() => socket?.destroy()));
      this.pendingKills.delete(id);
      connection.open();
    });
    this.container.on('disconnected', (context: EventContext) => this.forget(context.connection));
    this.container.on('connection_close', (context: EventContext) => this.forget(context.connection));
    this.container.on('error', () => undefined);
    this.container.on('connection_error', () => undefined);
    this.container.on('sender_open', (context: EventContext) => this.onSenderOpen(context));
    this.container.on('receiver_open', (context: EventContext) => this.onReceiverOpen(context));
    this.container.on('message', (context: EventContext) => this.onMessage(context));
    this.container.on('sendable', (context: EventContext) => this.pumpSender(context.sender!));
    this.container.on('sender_close', (context: EventContext) => this.dropLink(context.sender!));
    this.container.on('settled', (context: EventContext) => {
      if (context.sender && this.linkOf(context.sender)) this.partitionSettlements++;
    });
  }

  private readonly pendingKills = new Map<string, () => void>();

  /** `sb://host:port/` as a connection string's Endpoint. */
  get endpoint(): string {
    return `sb://${this.host}:${this.port}/`;
  }

  /** The namespace part of audiences (host:port, as the SDK builds them from the endpoint). */
  get namespace(): string {
    return this.options.namespaceName ?? `${this.host}:${this.port}`;
  }

  connectionString(policy: SasPolicy, hub?: string, key = policy.key): string {
    return `Endpoint=${this.endpoint};SharedAccessKeyName=${policy.name};SharedAccessKey=${key}${hub ? `;EntityPath=${hub}` : ''}`;
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.https.listen(0, '127.0.0.1', resolve));
    this.port = (this.https.address() as AddressInfo).port;
    if (this.options.amqps) {
      const server = this.container.listen({ transport: 'tls', port: 0, host: '127.0.0.1', key: this.options.tls.key, cert: this.options.tls.cert } as never) as unknown as TlsServer;
      await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
      this.amqpsPort = (server.address() as AddressInfo).port;
      this.tls = server;
    }
  }

  async stop(): Promise<void> {
    for (const link of this.links) clearTimeout(link.timer);
    for (const connection of this.connections) this.kills.get(connection)?.();
    for (const client of this.wss.clients) client.terminate();
    await new Promise((resolve) => this.wss.close(resolve));
    this.https.closeAllConnections();
    await new Promise((resolve) => this.https.close(resolve));
    if (this.tls) {
      const tls = this.tls;
      await new Promise((resolve) => tls.close(resolve));
    }
  }

  addHub(spec: HubSpec): void {
    const partitions = new Map<string, Partition>();
    for (let i = 0; i < spec.partitions; i++) partitions.set(String(i), { events: [], nextByte: 0 });
    this.hubs.set(spec.name.toLowerCase(), { spec, createdAt: new Date(), groups: new Set(['$default', ...(spec.consumerGroups ?? []).map((g) => g.toLowerCase())]), partitions });
  }

  /** Enqueues one message per body on a partition (as the Streaming API does: `{"records":[…]}`). */
  send(hubName: string, partitionId: string, bodies: (string | object)[], properties?: Record<string, string | number | boolean>): void {
    const partition = this.partition(hubName, partitionId);
    for (const body of bodies) {
      const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
      const sequenceNumber = partition.events.length;
      const offset = this.options.offsetStyle === 'opaque' ? `s1:${partition.nextByte}` : String(partition.nextByte);
      partition.nextByte += bytes.length + 256;
      partition.events.push({ sequenceNumber, offset, enqueuedTime: Date.now(), body: bytes, properties });
    }
    for (const link of this.links) if (link.hub === hubName.toLowerCase() && link.partition === partitionId) this.pump(link);
  }

  /** Messages on a partition (for assertions). */
  events(hubName: string, partitionId: string): readonly StoredEvent[] {
    return this.partition(hubName, partitionId).events;
  }

  /** Open partition receivers: which connection reads which partition, with which epoch. */
  openLinks(): { hub: string; group: string; partition: string; epoch?: number; connectionId: string; delivered: number }[] {
    return [...this.links].filter((l) => !l.closed).map((l) => ({ hub: l.hub, group: l.group, partition: l.partition, epoch: l.epoch, connectionId: l.connection.options.id ?? '', delivered: l.delivered }));
  }

  private partition(hubName: string, partitionId: string): Partition {
    const partition = this.hubs.get(hubName.toLowerCase())?.partitions.get(partitionId);
    if (!partition) throw new Error(`no partition ${hubName}/${partitionId}`);
    return partition;
  }

  /** Removes and returns the first matching fault that has uses left. */
  private takeFault(kind: FaultKind, partition?: string, test: (f: Fault) => boolean = () => true): Fault | undefined {
    const fault = this.faults.find((f) => f.kind === kind && (f.partition === undefined || f.partition === partition) && test(f));
    if (!fault) return undefined;
    if (kind !== 'slow') {
      fault.times = (fault.times ?? 1) - 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
    }
    return fault;
  }

  private forget(connection: Connection): void {
    this.connections.delete(connection);
    for (const link of this.links) if (link.connection === connection) this.dropLink(link.sender);
  }

  // ---- links ---------------------------------------------------------------------------------

  /** The client's receivers: `$cbs` and `$management` replies, and partition receivers. */
  private onSenderOpen(context: EventContext): void {
    const sender = context.sender!;
    const source = (sender as unknown as { remote: { attach: { source?: { address?: string; filter?: Record<string, unknown> }; target?: { address?: string }; properties?: Record<string, unknown>; desired_capabilities?: unknown } } }).remote.attach;
    const address = source.source?.address ?? '';
    const selector = selectorOf(source.source?.filter);
    // The attach is answered with the source as asked (filter included) and the client's target.
    sender.set_source({ address, ...(selector === undefined ? {} : { filter: { [SELECTOR]: rhea.types.wrap_described(selector, 0x468c00000004) } }) } as never);
    sender.set_target({ address: source.target?.address } as never);
    const presettled = presettleAsAsked(sender);
    if (address === '$cbs' || address === '$management') return;
    const match = PARTITION_SOURCE.exec(address);
    if (!match) return refuse(sender, 'amqp:not-found', `The messaging entity '${this.namespace}:${address}' could not be found.`);
    const [, hubName, group, partitionId] = match as unknown as [string, string, string, string];
    const filter = selector ?? '';
    const epochValue = source.properties?.['com.microsoft:epoch'];
    const epoch = epochValue === undefined || epochValue === null ? undefined : Number(epochValue);
    const record: Attach = { hub: hubName, group, partition: partitionId, filter, epoch, receiverName: source.properties?.['com.microsoft:receiver-name'] as string | undefined, connectionId: context.connection.options.id ?? '', at: Date.now(), outcome: 'open', presettled };
    this.attaches.push(record);
    const fail = (condition: string, description: string) => {
      record.outcome = condition;
      refuse(sender, condition, description);
    };
    const hub = this.hubs.get(hubName.toLowerCase());
    if (!hub) return fail('amqp:not-found', `The messaging entity '${this.namespace}:eventhub:${hubName}' could not be found.`);
    if (!hub.groups.has(group.toLowerCase())) return fail('amqp:not-found', `The messaging entity '${this.namespace}:eventhub:${hubName}/consumergroups/${group}' could not be found.`);
    const partition = hub.partitions.get(partitionId);
    if (!partition) return fail('com.microsoft:argument-out-of-range', `The specified partition is invalid for an EventHub partition sender or receiver. It should be between 0 and ${hub.partitions.size - 1}.`);
    const audience = `sb://${this.namespace}/${hubName}/ConsumerGroups/${group}/Partitions/${partitionId}`;
    if (!this.authorised(context.connection, audience)) return fail('amqp:unauthorized-access', `Unauthorized access. 'Listen' claim(s) are required to perform this operation. Resource: '${audience}'.`);
    if (this.takeFault('not-found', partitionId)) return fail('amqp:not-found', `The messaging entity '${this.namespace}:eventhub:${hubName}/consumergroups/${group}' could not be found.`);
    if (this.takeFault('server-busy', partitionId, (f) => f.afterDeliveries === undefined)) return fail('com.microsoft:server-busy', 'The request was terminated because the entity is being throttled. Please wait 4 seconds and try again.');
    const start = startIndex(partition, filter);
    if (typeof start === 'string') return fail('com.microsoft:argument-out-of-range', start);

    // Epochs: the highest (or an equal, newer) owner level wins; the others are told their link was stolen.
    const peers = [...this.links].filter((l) => !l.closed && l.hub === hub.spec.name.toLowerCase() && l.group === group.toLowerCase() && l.partition === partitionId);
    const epochs = peers.filter((l) => l.epoch !== undefined).map((l) => l.epoch!);
    if (epoch === undefined && epochs.length) return fail('amqp:link:stolen', `Receiver '${record.receiverName ?? sender.name}' without an epoch cannot be created while a receiver with epoch '${Math.max(...epochs)}' exists.`);
    if (epoch !== undefined && epochs.length && epoch < Math.max(...epochs)) return fail('amqp:link:stolen', `Receiver '${record.receiverName ?? sender.name}' with epoch '${epoch}' cannot be created: a receiver with a higher epoch '${Math.max(...epochs)}' already exists.`);
    if (epoch === undefined && peers.length >= 5) return fail('amqp:resource-limit-exceeded', `Exceeded the maximum number of allowed receivers per partition in a consumer group which is 5. List of connected receivers - ${peers.map((p) => p.sender.name).join(', ')}.`);
    if (epoch !== undefined) {
      for (const peer of peers) {
        this.closeLink(peer, 'amqp:link:stolen', `New receiver '${record.receiverName ?? sender.name}' with higher epoch of '${epoch}' is created hence current receiver '${peer.sender.name}' with epoch '${peer.epoch ?? 0}' is getting disconnected. If you are recreating the receiver, make sure a higher epoch is used.`);
      }
    }
    const capabilities = ([] as unknown[]).concat(source.desired_capabilities ?? []).map(String);
    const link: PartitionLink = { sender, connection: context.connection, hub: hub.spec.name.toLowerCase(), group: group.toLowerCase(), partition: partitionId, epoch, next: start, delivered: 0, runtimeMetric: capabilities.includes('com.microsoft:enable-receiver-runtime-metric'), closed: false };
    this.links.add(link);
    this.pump(link);
  }

  private onReceiverOpen(context: EventContext): void {
    const receiver = context.receiver!;
    const target = (receiver as unknown as { remote: { attach: { target?: { address?: string } } } }).remote.attach.target?.address ?? '';
    receiver.set_target({ address: target } as never);
    if (target !== '$cbs' && target !== '$management') refuse(receiver, 'amqp:not-allowed', `Sending to '${target}' is not supported by this stand-in.`);
  }

  private linkOf(sender: Sender): PartitionLink | undefined {
    for (const link of this.links) if (link.sender === sender) return link;
    return undefined;
  }

  private dropLink(sender: Sender): void {
    const link = this.linkOf(sender);
    if (!link) return;
    link.closed = true;
    clearTimeout(link.timer);
    this.links.delete(link);
  }

  private closeLink(link: PartitionLink, condition: string, description: string): void {
    link.closed = true;
    clearTimeout(link.timer);
    this.links.delete(link);
    link.sender.close({ condition, description });
  }

  private pumpSender(sender: Sender): void {
    const link = this.linkOf(sender);
    if (link) this.pump(link);
  }

  /** Sends what the link's credit allows; a slow fault spaces deliveries out. */
  private pump(link: PartitionLink): void {
    if (link.closed || link.timer) return;
    const partition = this.partition(link.hub, link.partition);
    while (!link.closed && link.sender.sendable() && link.next < partition.events.length) {
      const slow = this.takeFault('slow', link.partition);
      if (slow && !link.timer) {
        link.timer = setTimeout(() => {
          link.timer = undefined;
          if (!link.closed && link.sender.sendable() && link.next < partition.events.length) this.deliver(link, partition.events[link.next++]!, partition);
          this.pump(link);
        }, slow.delayMs ?? 100);
        return;
      }
      this.deliver(link, partition.events[link.next++]!, partition);
    }
  }

  private deliver(link: PartitionLink, event: StoredEvent, partition: Partition): void {
    const message: Message = {
      body: rhea.message.data_section(event.body),
      message_annotations: {
        'x-opt-sequence-number': rhea.types.wrap_long(event.sequenceNumber),
        'x-opt-offset': event.offset,
        'x-opt-enqueued-time': new Date(event.enqueuedTime),
      },
    };
    if (event.properties) message.application_properties = event.properties;
    if (link.runtimeMetric) {
      const last = partition.events[partition.events.length - 1]!;
      message.delivery_annotations = {
        last_enqueued_sequence_number: rhea.types.wrap_long(last.sequenceNumber),
        last_enqueued_offset: last.offset,
        last_enqueued_time_utc: new Date(last.enqueuedTime),
        runtime_info_retrieval_time_utc: new Date(),
      } as never;
    }
    link.sender.send(message);
    link.delivered++;
    const fault = (['server-busy', 'detach', 'drop'] as const)
      .map((kind) => [kind, this.takeFault(kind, link.partition, (f) => f.afterDeliveries !== undefined && link.delivered >= f.afterDeliveries)] as const)
      .find(([, f]) => f);
    if (!fault) return;
    if (fault[0] === 'drop') {
      // After the frames already written have gone out, as when a network path fails mid-stream.
      link.closed = true;
      setTimeout(() => this.kills.get(link.connection)?.(), 50);
    } else if (fault[0] === 'server-busy') {
      this.closeLink(link, 'com.microsoft:server-busy', 'The request was terminated because the entity is being throttled. Please wait 4 seconds and try again.');
    } else {
      this.closeLink(link, 'amqp:link:detach-forced', 'The link was detached by the service (injected fault).');
    }
  }

  // ---- CBS and management --------------------------------------------------------------------

  private onMessage(context: EventContext): void {
    const receiver = context.receiver!;
    const message = context.message!;
    const target = (receiver as unknown as { remote: { attach: { target?: { address?: string } } } }).remote.attach.target?.address;
    const props = (message.application_properties ?? {}) as Record<string, unknown>;
    const replyTo = String(message.reply_to ?? '');
    const reply = (status: number, description: string, body?: unknown, condition?: string) => {
      const link = context.connection.find_sender((s: Sender) => s.name === replyTo || (s as unknown as { remote: { attach?: { target?: { address?: string } } } }).remote.attach?.target?.address === replyTo);
      if (!link) return;
      const application_properties: Record<string, unknown> = { 'status-code': rhea.types.wrap_int(status), 'status-description': description };
      if (condition) application_properties['error-condition'] = condition;
      link.send({ correlation_id: message.message_id, to: replyTo, application_properties, body } as Message);
    };
    if (target === '$cbs') {
      const type = String(props.type ?? '');
      const audience = String(props.name ?? '');
      const token = String(message.body ?? '');
      const injected = this.takeFault('unauthorized');
      const problem = injected ? 'InvalidSignature: The token has an invalid signature (injected fault).' : this.tokenProblem(type, token, audience);
      if (problem) {
        this.cbs.push({ type, audience, status: 401 });
        return reply(401, problem, undefined, 'amqp:unauthorized-access');
      }
      const granted = this.granted.get(context.connection) ?? [];
      granted.push(type === 'jwt' ? { audience, prefix: false, expiresAt: Date.now() + 3600_000 } : sasGrant(token));
      this.granted.set(context.connection, granted);
      this.cbs.push({ type, audience, status: 202 });
      return reply(202, 'Accepted');
    }
    if (target === '$management') {
      const type = String(props.type ?? '');
      const partitionId = props.partition === undefined ? undefined : String(props.partition);
      const answer = (status: number, description: string, body?: unknown, condition?: string) => {
        this.managementReads.push({ type, partition: partitionId, status });
        reply(status, description, body, condition);
      };
      if (props.operation !== 'READ') return answer(400, `Operation '${String(props.operation)}' is not supported.`, undefined, 'amqp:not-implemented');
      const hubName = String(props.name ?? '');
      const securityToken = String(props.security_token ?? '');
      const problem = this.tokenProblem(securityToken.startsWith('SharedAccessSignature') ? 'servicebus.windows.net:sastoken' : 'jwt', securityToken, `sb://${this.namespace}/${hubName}`);
      if (problem) return answer(401, problem, undefined, 'amqp:unauthorized-access');
      const hub = this.hubs.get(hubName.toLowerCase());
      if (!hub) return answer(404, `The messaging entity 'sb://${this.namespace}/${hubName}' could not be found.`, undefined, 'amqp:not-found');
      if (type === 'com.microsoft:eventhub') {
        return answer(200, 'OK', { name: hub.spec.name, created_at: hub.createdAt, partition_count: rhea.types.wrap_int(hub.partitions.size), partition_ids: [...hub.partitions.keys()] });
      }
      const partition = partitionId === undefined ? undefined : hub.partitions.get(partitionId);
      if (type !== 'com.microsoft:partition' || !partition) return answer(400, `The specified partition is invalid for an EventHub partition sender or receiver. It should be between 0 and ${hub.partitions.size - 1}.`, undefined, 'com.microsoft:argument-out-of-range');
      const last = partition.events[partition.events.length - 1];
      return answer(200, 'OK', {
        name: hub.spec.name,
        partition: partitionId,
        begin_sequence_number: rhea.types.wrap_long(partition.events.length ? 0 : -1),
        last_enqueued_sequence_number: rhea.types.wrap_long(last ? last.sequenceNumber : -1),
        last_enqueued_offset: last ? last.offset : '-1',
        last_enqueued_time_utc: new Date(last ? last.enqueuedTime : 0),
        is_partition_empty: !last,
      });
    }
  }

  /** Why a put-token (or a management security_token) is refused for `audience`. */
  private tokenProblem(type: string, token: string, audience: string): string | undefined {
    if (type === 'jwt') {
      if (!this.options.jwtProblem) return 'InvalidIssuer: Token issuer is invalid.';
      const problem = this.options.jwtProblem(token);
      return problem ? `ExpiredToken or InvalidAudience: ${problem}` : undefined;
    }
    if (type !== 'servicebus.windows.net:sastoken') return `Unsupported token type '${type}'.`;
    const fields = new Map(token.replace(/^SharedAccessSignature\s+/, '').split('&').map((pair) => {
      const at = pair.indexOf('=');
      return [pair.slice(0, at), pair.slice(at + 1)] as const;
    }));
    const [sr, sig, se, skn] = ['sr', 'sig', 'se', 'skn'].map((k) => fields.get(k));
    if (!sr || !sig || !se || !skn) return 'InvalidToken: The token is not a SharedAccessSignature (sr, sig, se, skn).';
    const policy = (this.options.policies ?? []).find((p) => p.name === decodeURIComponent(skn));
    if (!policy) return `InvalidSignature: The token has an invalid signature (unknown policy '${decodeURIComponent(skn)}').`;
    const expected = createHmac('sha256', Buffer.from(policy.key, 'utf8')).update(`${sr}\n${se}`).digest();
    const presented = Buffer.from(decodeURIComponent(sig), 'base64');
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return 'InvalidSignature: The token has an invalid signature.';
    if (Number(se) * 1000 <= Date.now()) return `ExpiredToken: The token is expired. Expiration time: '${new Date(Number(se) * 1000).toISOString()}'.`;
    if (!covers(decodeURIComponent(sr), audience)) return `InvalidAudience: The token audience '${decodeURIComponent(sr)}' does not cover '${audience}'.`;
    if (!(policy.rights ?? ['Listen']).some((r) => r === 'Listen' || r === 'Manage')) return "Unauthorized access. 'Listen' claim(s) are required to perform this operation.";
    return undefined;
  }

  private authorised(connection: Connection, audience: string): boolean {
    return (this.granted.get(connection) ?? []).some((g) => g.expiresAt > Date.now() && (g.prefix ? covers(g.audience, audience) : g.audience.toLowerCase() === audience.toLowerCase()));
  }
}

function sasGrant(token: string): GrantedToken {
  const fields = new URLSearchParams(token.replace(/^SharedAccessSignature\s+/, ''));
  return { audience: fields.get('sr') ?? '', prefix: true, expiresAt: Number(fields.get('se')) * 1000 };
}

/** A SAS resource covers itself and everything under it (case-insensitive, scheme-insensitive). */
function covers(resource: string, audience: string): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/^(sb|amqps?|https?):\/\//, '').replace(/\/+$/, '');
  const r = norm(resource);
  const a = norm(audience);
  return a === r || a.startsWith(`${r}/`);
}

/** The selector expression of a source filter: rhea 3 hands over the plain string, older ones `{value}`. */
function selectorOf(filter: Record<string, unknown> | undefined): string | undefined {
  const entry = filter?.[SELECTOR] ?? filter?.['jms-selector'];
  if (entry === undefined || entry === null) return undefined;
  return typeof entry === 'string' ? entry : String((entry as { value?: unknown }).value ?? '');
}

/** Index of the first event the filter lets through, or the service's refusal. */
function startIndex(partition: Partition, filter: string): number | string {
  if (!filter) return 0;
  const match = FILTER.exec(filter.trim());
  if (!match) return `The filter '${filter}' is not valid.`;
  const [, field, op, value] = match as unknown as [string, string, string, string];
  const events = partition.events;
  const last = events[events.length - 1];
  if (field === 'offset') {
    if (value === '-1') return 0;
    if (value === '@latest') return events.length;
    const at = events.findIndex((e) => e.offset === value);
    if (at < 0) return `The supplied offset '${value}' is invalid. The last offset in the system is '${last?.offset ?? '-1'}'`;
    return op === '>' ? at + 1 : at;
  }
  if (field === 'sequence-number') {
    const n = Number(value);
    if (!Number.isInteger(n) || n > (last?.sequenceNumber ?? -1) + (op === '>=' ? 1 : 0)) return `The supplied sequence number '${value}' is invalid. The last sequence number in the system is '${last?.sequenceNumber ?? -1}'`;
    const at = events.findIndex((e) => (op === '>' ? e.sequenceNumber > n : e.sequenceNumber >= n));
    return at < 0 ? events.length : at;
  }
  const t = Number(value);
  const at = events.findIndex((e) => e.enqueuedTime > t);
  return at < 0 ? events.length : at;
}

/**
 * Settle mode as the service answers it: deliveries go out pre-settled unless the receiver asked
 * for unsettled ones. @azure/event-hubs 6 asks nothing (rhea's default, snd-settle-mode mixed, and
 * auto-accept); the service then sends its events settled (the transfers seen in amqp/rhea#56
 * carry `settled: true`), and Microsoft's .NET clients ask for settled explicitly
 * (SettleMode.SettleOnSend). A pre-settled delivery needs no disposition back and is forgotten on
 * both sides once sent; rhea marks it so when the sender's own attach says settled (1).
 */
function presettleAsAsked(sender: Sender): boolean {
  const local = (sender as unknown as { local: { attach: { snd_settle_mode: number } } }).local.attach;
  // rhea's alias reads the receiver's attach; settled unless it said unsettled (0).
  local.snd_settle_mode = sender.snd_settle_mode === 0 ? 0 : 1;
  return local.snd_settle_mode === 1;
}

function refuse(link: Sender | Receiver, condition: string, description: string): void {
  link.close({ condition, description });
}
