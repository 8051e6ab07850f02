import type { InputDefinition } from '../splunk/args.js';
import { accountArg } from '../sources/commonArgs.js';

/**
 * Not a data input: the configuration page's "Test connection". The page asks splunkd to create
 * a stanza of this scheme; splunkd runs our `--validate-arguments`, which tests the account and
 * always refuses, returning the report as the validation message. So nothing is ever written to
 * inputs.conf, and no Python or custom REST handler is needed.
 */
export const connectionTestDefinition: InputDefinition = {
  scheme: 'defender_xdr_connection_test',
  title: 'Microsoft Defender XDR connection test',
  description: 'Used by the configuration page to test an account (token and one call per API); never collects data and never keeps a stanza.',
  args: [accountArg],
};
