import { XMLParser } from 'fast-xml-parser';

/** What splunkd hands a modular input on stdin, in either run or validation mode. */
export interface InputConfig {
  serverHost: string;
  serverUri: string;
  sessionKey: string;
  checkpointDir: string;
  /** Full stanza name (`scheme://name`) in run mode, bare name in validation mode. */
  stanza: string;
  /** The name after `scheme://`. */
  name: string;
  params: Record<string, string>;
}

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  trimValues: true,
  // Secrets and filters must arrive verbatim; only the standard entities are decoded.
  processEntities: true,
  isArray: (name) => ['stanza', 'item', 'param', 'param_list', 'value'].includes(name),
});

function text(node: unknown): string {
  if (node === undefined || node === null) return '';
  if (typeof node === 'object') return String((node as XmlNode)['#text'] ?? '');
  return String(node);
}

function readParams(node: XmlNode): Record<string, string> {
  const params: Record<string, string> = {};
  for (const p of (node.param as XmlNode[] | undefined) ?? []) params[String(p['@_name'])] = text(p);
  // Multi-valued params are joined with commas; none of ours is multi-valued today.
  for (const p of (node.param_list as XmlNode[] | undefined) ?? []) {
    params[String(p['@_name'])] = ((p.value as unknown[] | undefined) ?? []).map(text).join(',');
  }
  return params;
}

/** What splunkd hands a run: its session and every stanza it starts this process for. */
export interface RunConfig extends Omit<InputConfig, 'stanza' | 'name' | 'params'> {
  /** One per process, or all of the scheme's enabled stanzas in single-instance mode. */
  stanzas: StanzaConfig[];
}

export type StanzaConfig = Pick<InputConfig, 'stanza' | 'name' | 'params'>;

/**
 * Parses the run-mode `<input>` or validation-mode `<items>` document; the first stanza only.
 * splunkd may declare `encoding="utf-16"` while sending UTF-8, so the declaration is ignored.
 */
export function parseInputConfig(xml: string): InputConfig {
  const { stanzas, ...rest } = parseRunConfig(xml);
  return { ...rest, ...stanzas[0]! };
}

/** Parses a run or validation document with all its stanzas (at least one). */
export function parseRunConfig(xml: string): RunConfig {
  const doc = parser.parse(xml.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '')) as XmlNode;
  const root = (doc.input ?? doc.items) as XmlNode | undefined;
  if (!root) throw new Error('The configuration from splunkd has neither <input> nor <items>.');
  const nodes = doc.input ? (((root.configuration as XmlNode | undefined)?.stanza as XmlNode[] | undefined) ?? []) : ((root.item as XmlNode[] | undefined) ?? []);
  if (!nodes.length) throw new Error('The configuration from splunkd holds no stanza.');
  return {
    serverHost: text(root.server_host),
    serverUri: text(root.server_uri),
    sessionKey: text(root.session_key),
    checkpointDir: text(root.checkpoint_dir),
    stanzas: nodes.map((node) => stanzaConfig(String(node['@_name'] ?? ''), readParams(node))),
  };
}

export function stanzaConfig(stanza: string, params: Record<string, string>): StanzaConfig {
  return { stanza, name: stanza.includes('://') ? stanza.slice(stanza.indexOf('://') + 3) : stanza, params };
}

export async function readStdin(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
