/**
 * Settings the app sets for inputs of *other* apps, as those apps' specs declare them. They must not
 * go into README/inputs.conf.spec: a spec stanza there would tell splunkd that this app provides the
 * scheme. Today: Splunk Enterprise Security's identity_manager input (SA-IdentityManagement), which
 * registers the asset lookup defender_xdr_assets. The checks (inspect, conf-files test) read it.
 */
export const ES_IDENTITY_MANAGER_SPEC = `[identity_manager://<name>]
* Splunk Enterprise Security (SA-IdentityManagement): registers a lookup as a source of assets or
* identities. Ignored where ES is not installed. The app ships [identity_manager://defender_xdr_assets].

category = <string>
* Category of the lookup (free text, not used in the merged asset list).

description = <string>
* A description of the asset or identity lookup.

target = asset|identity
* What the lookup holds.

url = lookup://<lookup_name>
* The transforms.conf stanza of the lookup.
`;

/** Extra spec text per conf file, for settings of other apps' inputs. */
export const FOREIGN_SPECS: Record<string, string> = { 'inputs.conf': ES_IDENTITY_MANAGER_SPEC };
