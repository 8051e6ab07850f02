/**
 * The keys of Splunk Enterprise Security's identity_manager input, which the app's inputs.conf
 * uses to register its asset lookup (the input itself belongs to ES's SA-IdentityManagement;
 * this block only declares what the app sets, as ES's own inputs.conf.spec describes it).
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
