import { isIP } from 'node:net';
import { HttpError } from '../../http/errors.js';
import type { GraphClient } from '../../microsoft/graph.js';
import { machinePages, odataString, type Machine } from '../../microsoft/mdeDevices.js';

export type DeviceResolution =
  | { kind: 'machine'; machine: Machine; by: 'id' | 'name' | 'ip' }
  | { kind: 'not_found'; message: string }
  | { kind: 'ambiguous'; message: string };

/** A Defender machine id: 40 hex digits (a SHA-1 of the device). */
export const MACHINE_ID = /^[0-9a-f]{40}$/i;
/** A DNS or NetBIOS host name (what can safely go into an OData string). */
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$/;

export function identifierKind(value: string): 'id' | 'ip' | 'name' | 'invalid' {
  if (MACHINE_ID.test(value)) return 'id';
  if (isIP(value)) return 'ip';
  if (HOST_NAME.test(value) && value.length <= 253) return 'name';
  return 'invalid';
}

/**
 * Finds the one machine a result names: by id (GET /api/machines/{id}), by DNS name
 * (computerDnsName eq, case-insensitive; a short name not found so is looked up as the first
 * label of an FQDN with startswith) or by IP (lastIpAddress eq). Several machines for one
 * name or IP (re-imaged devices, reused addresses) are never guessed between: the result is
 * refused with the candidates, so the analyst can pass the machine id. Records Defender merged
 * into another (mergedIntoMachineId) are not candidates.
 */
/** Machines matching a filter, merged records left out; stops after 21 (enough to refuse). */
async function candidates(reader: GraphClient, filter: string): Promise<Machine[]> {
  const found: Machine[] = [];
  for await (const page of machinePages(reader, filter, 100)) {
    found.push(...page.filter((m) => !m.mergedIntoMachineId));
    if (found.length > 20) break;
  }
  return found;
}

export async function resolveDevice(reader: GraphClient, value: string): Promise<DeviceResolution> {
  const kind = identifierKind(value);
  if (kind === 'id') {
    try {
      const machine = await reader.get<Machine>(reader.url(`/api/machines/${value.toLowerCase()}`));
      return { kind: 'machine', machine, by: 'id' };
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return { kind: 'not_found', message: `no Defender machine with id ${value}` };
      throw error;
    }
  }
  const name = value.toLowerCase().replace(/\.$/, '');
  let found = await candidates(reader, kind === 'ip' ? `lastIpAddress eq ${odataString(value)}` : `computerDnsName eq ${odataString(name)}`);
  // A short (NetBIOS) name: Defender names domain-joined devices by their FQDN, so look for
  // <name>.<domain> (startswith, as Microsoft documents for computerDnsName); the first label must
  // be the name itself, so ws-0042 does not match ws-00421.contoso.com.
  const short = kind === 'name' && !name.includes('.');
  if (found.length === 0 && short) found = (await candidates(reader, `startswith(computerDnsName,${odataString(`${name}.`)})`)).filter((m) => m.computerDnsName?.toLowerCase().split('.')[0] === name);
  if (found.length === 1) return { kind: 'machine', machine: found[0]!, by: kind === 'ip' ? 'ip' : 'name' };
  if (found.length === 0) {
    return { kind: 'not_found', message: `no Defender machine with ${kind === 'ip' ? 'last IP address' : 'DNS name'} ${value}${short ? ` or a DNS name starting with ${name}.` : ''}` };
  }
  const listed = found
    .slice(0, 10)
    .map((m) => `${m.id} (${m.computerDnsName ?? 'no name'}, last seen ${m.lastSeen ?? 'unknown'}${m.lastIpAddress ? `, ${m.lastIpAddress}` : ''})`)
    .join('; ');
  return {
    kind: 'ambiguous',
    message: `${found.length}${found.length > 20 ? '+' : ''} Defender machines match ${kind === 'ip' ? 'IP address' : 'name'} ${value}: ${listed}. Nothing was sent; give the machine id in the device field.`,
  };
}
