/**
 * TEST TOOL — reads one partition with the real @azure/event-hubs SDK over amqps (AMQP over TLS
 * on TCP, the SDK's default transport, port 5671 on the service), for the Event Hubs stand-in's
 * own test. A child process, because the SDK exposes no TLS options for amqps: the test trusts the
 * stand-in's certificate through NODE_EXTRA_CA_CERTS, as a user would, never by turning
 * verification off. Argument: JSON { connectionString, endpoint, hub, partition, count }.
 * Prints JSON { partitionIds, bodies, errors }.
 */
import { EventHubConsumerClient, earliestEventPosition } from '@azure/event-hubs';

const { connectionString, endpoint, hub, partition, count } = JSON.parse(process.argv[2] ?? '{}') as { connectionString: string; endpoint: string; hub: string; partition: string; count: number };
// customEndpointAddress: the TCP connection goes to the stand-in's amqps port; audiences keep the namespace.
const client = new EventHubConsumerClient('$Default', connectionString, hub, { customEndpointAddress: endpoint, retryOptions: { maxRetries: 0, timeoutInMs: 10_000 } });
const bodies: unknown[] = [];
const errors: string[] = [];
let partitionIds: string[] = [];
try {
  partitionIds = await client.getPartitionIds();
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(resolve, 15_000);
    client.subscribe(partition, {
      processEvents: async (events) => {
        bodies.push(...events.map((e) => e.body));
        if (bodies.length >= count) {
          clearTimeout(deadline);
          resolve();
        }
      },
      processError: async (error) => {
        errors.push(`${(error as { code?: string }).code ?? error.name}: ${error.message}`);
      },
    }, { startPosition: earliestEventPosition, maxWaitTimeInSeconds: 1 });
  });
} catch (error) {
  errors.push(`${(error as { code?: string }).code ?? (error as Error).name}: ${(error as Error).message}`);
}
process.stdout.write(JSON.stringify({ partitionIds, bodies, errors }));
// The SDK leaves timers behind after close() (issue 23); the answer is out, so end here.
await Promise.race([client.close(), new Promise((r) => setTimeout(r, 2_000))]);
process.exit(0);
