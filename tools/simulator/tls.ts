import { generate } from 'selfsigned';

/**
 * A throw-away self-signed certificate for the simulator's https listener.
 * Clients trust it by passing `cert` as their CA (never by disabling verification);
 * the SAN covers both names a test may use to reach 127.0.0.1, and `extraNames` (a public host name
 * a test reaches through a proxy that maps it to loopback).
 */
export async function makeLocalCertificate(extraNames: string[] = []): Promise<{ key: string; cert: string }> {
  // Backdate a little so a client whose clock is slightly behind still accepts it.
  const notBeforeDate = new Date(Date.now() - 5 * 60_000);
  const notAfterDate = new Date(Date.now() + 7 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'rsa',
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          ...extraNames.map((value) => ({ type: 2 as const, value })),
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
