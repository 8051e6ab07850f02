import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the Defender for Endpoint call ledger lives for an input or action. splunkd gives each
 * scheme its own checkpoint folder ($SPLUNK_HOME/var/lib/splunk/modinputs/<scheme>); the ledger of
 * the defender_endpoint_alerts input is the one every MDE caller of the app must count against, so
 * a sibling scheme uses that folder when it exists, and its own otherwise.
 */
export function mdeLedgerDir(checkpointDir: string | undefined): string | undefined {
  if (!checkpointDir) return undefined;
  const shared = path.join(path.dirname(checkpointDir), 'defender_endpoint_alerts');
  return existsSync(shared) ? shared : checkpointDir;
}

/** The ledger folder of an alert action (no checkpoint_dir of its own): the alerts input's, under SPLUNK_HOME. */
export function actionLedgerDir(env: NodeJS.ProcessEnv): string | undefined {
  const home = env.SPLUNK_HOME;
  if (!home) return undefined;
  const dir = path.join(home, 'var', 'lib', 'splunk', 'modinputs', 'defender_endpoint_alerts');
  return existsSync(dir) ? dir : undefined;
}
