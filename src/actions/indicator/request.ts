import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../../config/account.js';
import { count, fieldName, text } from '../device/request.js';

export const INDICATOR_TYPES = ['FileSha1', 'FileSha256', 'FileMd5', 'IpAddress', 'DomainName', 'Url'] as const;
export type IndicatorType = (typeof INDICATOR_TYPES)[number];
export const INDICATOR_ACTIONS = ['Allowed', 'Audit', 'Warn', 'Block', 'BlockAndRemediate'] as const;
export const INDICATOR_SEVERITIES = ['Informational', 'Low', 'Medium', 'High'] as const;

export interface IndicatorRequest {
  account: string;
  /** A fixed type, or auto: each value's own shape decides. */
  indicatorType: IndicatorType | 'auto';
  valueField: string;
  action: (typeof INDICATOR_ACTIONS)[number];
  title: string;
  description: string;
  severity: (typeof INDICATOR_SEVERITIES)[number];
  /** 0: the indicator does not expire. */
  expirationDays: number;
  generateAlert: boolean;
  maxIndicators: number;
  requestsPerMinute: number;
  resultIndex: string;
}

export const INDICATOR_LIMITS = { maxIndicators: 500, requestsPerMinute: 100, expirationDays: 3650, title: 200, description: 1000 } as const;

/** Checks the configuration; one ConfigError naming every problem, before any call. */
export function parseIndicatorRequest(configuration: Record<string, unknown>): IndicatorRequest {
  const problems: string[] = [];
  const account = text(configuration, 'account');
  if (!account) problems.push('account: required; the name of an account configured in the add-on.');
  const type = text(configuration, 'indicator_type') ?? 'auto';
  if (type !== 'auto' && !(INDICATOR_TYPES as readonly string[]).includes(type)) problems.push(`indicator_type: "${type}" is not one of auto, ${INDICATOR_TYPES.join(', ')}.`);
  const action = text(configuration, 'indicator_action');
  if (!action) problems.push(`indicator_action: required; one of ${INDICATOR_ACTIONS.join(', ')}.`);
  else if (!(INDICATOR_ACTIONS as readonly string[]).includes(action)) problems.push(`indicator_action: "${action}" is not one of ${INDICATOR_ACTIONS.join(', ')}.`);
  const title = text(configuration, 'title');
  if (!title) problems.push('title: required; Defender shows it as the indicator\'s name.');
  else if (title.length > INDICATOR_LIMITS.title) problems.push(`title: longer than ${INDICATOR_LIMITS.title} characters.`);
  const description = text(configuration, 'description');
  if (!description) problems.push('description: required; say why the indicator exists (e.g. the notable).');
  else if (description.length > INDICATOR_LIMITS.description) problems.push(`description: longer than ${INDICATOR_LIMITS.description} characters.`);
  const severity = text(configuration, 'severity') ?? 'Medium';
  if (!(INDICATOR_SEVERITIES as readonly string[]).includes(severity)) problems.push(`severity: "${severity}" is not one of ${INDICATOR_SEVERITIES.join(', ')}.`);
  const generateText = text(configuration, 'generate_alert') ?? (action === 'Audit' ? 'true' : 'false');
  if (!/^(true|false|1|0)$/i.test(generateText)) problems.push(`generate_alert: "${generateText}" is not true or false.`);
  const generateAlert = /^(true|1)$/i.test(generateText);
  // Microsoft: generateAlert must be true with Audit.
  if (action === 'Audit' && !generateAlert) problems.push('generate_alert: must be true with indicator_action Audit.');
  const valueField = fieldName(configuration, 'value_field', 'indicator', problems);
  const expirationDays = count(configuration, 'expiration_days', 30, INDICATOR_LIMITS.expirationDays, problems, 0);
  const maxIndicators = count(configuration, 'max_indicators', 50, INDICATOR_LIMITS.maxIndicators, problems);
  const requestsPerMinute = count(configuration, 'requests_per_minute', 50, INDICATOR_LIMITS.requestsPerMinute, problems);
  const resultIndex = text(configuration, 'result_index') ?? 'cim_modactions';
  if (!/^[a-z0-9_][a-z0-9_-]*$/.test(resultIndex)) problems.push(`result_index: "${resultIndex.slice(0, 40)}" is not an index name.`);
  if (problems.length) throw new ConfigError(`defender_submit_indicator: invalid configuration, nothing was sent to Defender. ${problems.join(' ')}`);
  return {
    account: account!, indicatorType: type as IndicatorType | 'auto', valueField, action: action as IndicatorRequest['action'], title: title!, description: description!,
    severity: severity as IndicatorRequest['severity'], expirationDays, generateAlert, maxIndicators, requestsPerMinute, resultIndex,
  };
}

/** Addresses no one should block or allow tenant-wide as an IP indicator: private, loopback, link-local, shared, multicast, reserved. */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

const HASHES: [IndicatorType, RegExp][] = [['FileSha1', /^[0-9a-f]{40}$/i], ['FileSha256', /^[0-9a-f]{64}$/i], ['FileMd5', /^[0-9a-f]{32}$/i]];
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i;

/** The indicator a value makes (its type and normalised value), or why it cannot be one. */
export function classify(raw: string, wanted: IndicatorType | 'auto'): { type: IndicatorType; value: string } | { problem: string } {
  const value = raw.trim();
  if (value.includes('/') && isIP(value.split('/')[0]!)) return { problem: `"${value}" is a range (CIDR): Defender takes single IP addresses only` };
  const ipVersion = isIP(value);
  const type: IndicatorType | undefined =
    wanted !== 'auto' ? wanted
      : HASHES.find(([, re]) => re.test(value))?.[0] ?? (ipVersion ? 'IpAddress' : /^https?:\/\//i.test(value) ? 'Url' : DOMAIN.test(value) ? 'DomainName' : undefined);
  if (!type) return { problem: `"${value.slice(0, 80)}" is not a file hash, an IP address, a domain or a URL` };
  const hash = HASHES.find(([t]) => t === type);
  if (hash) return hash[1].test(value) ? { type, value: value.toLowerCase() } : { problem: `"${value.slice(0, 80)}" is not a ${type === 'FileSha1' ? 'SHA-1 (40 hex digits)' : type === 'FileSha256' ? 'SHA-256 (64 hex digits)' : 'MD5 (32 hex digits)'}` };
  if (type === 'IpAddress') {
    if (!ipVersion) return { problem: `"${value.slice(0, 80)}" is not an IP address` };
    if (NOT_PUBLIC.check(value, ipVersion === 4 ? 'ipv4' : 'ipv6')) return { problem: `${value} is a private, loopback, link-local or reserved address: an IP indicator applies tenant-wide, refused` };
    return { type, value };
  }
  if (type === 'DomainName') return DOMAIN.test(value) ? { type, value: value.toLowerCase().replace(/\.$/, '') } : { problem: `"${value.slice(0, 80)}" is not a domain name` };
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    return { type, value };
  } catch {
    return { problem: `"${value.slice(0, 80)}" is not an http(s) URL` };
  }
}
