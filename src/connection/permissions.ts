import { CANCEL_PERMISSIONS, DEVICE_ACTIONS } from '../actions/device/request.js';
import { MDE_PERMISSIONS } from '../microsoft/mdeDevices.js';
import { tokenRoles } from '../microsoft/tokenClaims.js';
import type { PermissionLine, PermissionReport } from './report.js';

/** A feature of the response actions and the permissions that allow it (any one is enough). */
interface Needed {
  feature: string;
  anyOf: string[];
  blocks: string;
}

/** One line per permission the response actions need, from the actions' own definitions, and the owner lookup's. */
export function responseActionNeeds(): Needed[] {
  const byPermission = new Map<string, string[]>();
  for (const [name, spec] of Object.entries(DEVICE_ACTIONS)) byPermission.set(spec.permission, [...(byPermission.get(spec.permission) ?? []), name]);
  return [
    { feature: 'defender_device_action (every action)', anyOf: [MDE_PERMISSIONS.readMachines], blocks: 'finding the device and reading its earlier actions, so every device action' },
    ...[...byPermission].map(([permission, actions]) => ({
      feature: `defender_device_action action=${actions.join(', ')}`,
      anyOf: [permission],
      blocks: `action=${actions.join(' and action=')}`,
    })),
    { feature: 'defender_device_action action=cancel', anyOf: CANCEL_PERMISSIONS, blocks: 'action=cancel (Microsoft accepts any one of these)' },
    { feature: 'defender_submit_indicator', anyOf: [MDE_PERMISSIONS.indicators, 'Ti.ReadWrite.All'], blocks: 'submitting indicators (file hash, IP, domain, URL)' },
    // Not an action, but like them it cannot be probed without a device: the machines input's opt-in owner.
    { feature: 'defender_endpoint_machines owner_lookups (optional)', anyOf: [MDE_PERMISSIONS.logonUsers], blocks: 'reading logon users, so devices get no owner' },
  ];
}

/**
 * What the token for the Defender for Endpoint API says about the response actions' permissions.
 * Application permissions are in its `roles` claim; an opaque token is reported as unreadable.
 */
export function permissionReport(token: string, needs: Needed[] = responseActionNeeds()): PermissionReport {
  const roles = tokenRoles(token);
  if (!roles) {
    return {
      readable: false,
      message: 'The write permissions of the response actions could not be read: the Defender for Endpoint token is not a JWT with a roles claim. Each action names its missing permission on first use.',
      lines: [],
    };
  }
  const lines: PermissionLine[] = needs.map((n) => {
    const held = n.anyOf.find((p) => roles.includes(p));
    return held
      ? { feature: n.feature, permission: held, granted: true, message: `${held} is granted.` }
      : {
        feature: n.feature, permission: n.anyOf.join(' or '), granted: false,
        message: `Missing: add the application permission ${n.anyOf.join(' or ')} of the WindowsDefenderATP API and grant admin consent. Without it Defender refuses ${n.blocks} (403).`,
      };
  });
  const missing = lines.filter((l) => !l.granted).length;
  return {
    readable: true,
    message: missing ? `${missing} of ${lines.length} response action permissions are missing (read from the token's roles claim).` : `Every response action permission is granted (read from the token's roles claim).`,
    lines,
  };
}
