import { ConfigError } from '../config/account.js';
import { HttpError, NetworkError, statusKind } from '../http/errors.js';
import { AuthenticationError } from '../microsoft/auth.js';
import { PermissionError } from '../microsoft/graph.js';
import { SplunkdError } from '../splunk/rest.js';

/**
 * What kind of failure stopped a poll, as a stable word for the `error_kind` field of the log
 * (the health dashboard and the saved alerts count by it). The message says what to fix.
 */
export type ErrorKind = 'config' | 'auth' | 'permission' | 'throttled' | 'http_server' | 'http_client' | 'network' | 'splunkd' | 'filesystem' | 'output' | 'internal';

export function errorKind(error: unknown): ErrorKind {
  if (error instanceof ConfigError) return 'config';
  if (error instanceof AuthenticationError) return 'auth';
  if (error instanceof PermissionError) return 'permission';
  if (error instanceof HttpError) return statusKind(error.status);
  if (error instanceof NetworkError) return 'network';
  if (error instanceof SplunkdError) return 'splunkd';
  // Node's file-system errors (checkpoint folder full, read-only, missing) carry an errno code and the call.
  const err = error as NodeJS.ErrnoException | undefined;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') return 'filesystem';
  if (err instanceof Error && /Cannot save the checkpoint/.test(err.message)) return 'filesystem';
  return 'internal';
}
