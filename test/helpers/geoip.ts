/**
 * TEST TOOL — the GeoIP table the SPL model's `iplocation` reads, standing in for the MaxMind
 * database Splunk ships. Made-up places for documentation address ranges (RFC 5737), so results
 * are fixed and no real address is located. As in Splunk, some fields may be empty for an address
 * the table knows, and an address it does not know (internal ranges, 198.51.100.0/24 here) gets
 * no fields at all.
 */
import { BlockList, isIPv4 } from 'node:net';

export interface GeoRecord {
  City: string;
  Region: string;
  Country: string;
  lat: number;
  lon: number;
}

export const TEST_GEOIP: readonly { cidr: string; record: GeoRecord }[] = [
  { cidr: '203.0.113.0/25', record: { City: 'Seattle', Region: 'Washington', Country: 'United States', lat: 47.6062, lon: -122.3321 } },
  { cidr: '203.0.113.128/26', record: { City: 'Amsterdam', Region: 'North Holland', Country: 'Netherlands', lat: 52.3676, lon: 4.9041 } },
  // Country-level only, as the database has for many addresses.
  { cidr: '203.0.113.192/26', record: { City: '', Region: '', Country: 'Germany', lat: 51.2993, lon: 9.491 } },
  { cidr: '192.0.2.0/24', record: { City: 'Sydney', Region: 'New South Wales', Country: 'Australia', lat: -33.8688, lon: 151.2093 } },
];

const ranges = TEST_GEOIP.map(({ cidr, record }) => {
  const [network, bits] = cidr.split('/');
  const list = new BlockList();
  list.addSubnet(network!, Number(bits), 'ipv4');
  return { list, record };
});

/** The location of an IPv4 address, or undefined when the table has none (Splunk then adds no field). */
export function geoLookup(ip: string): GeoRecord | undefined {
  if (!isIPv4(ip)) return undefined;
  return ranges.find((r) => r.list.check(ip, 'ipv4'))?.record;
}
