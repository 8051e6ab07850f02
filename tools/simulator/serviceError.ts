/**
 * An error a simulated service answers with: HTTP status, the service's error code and message,
 * and extra headers (e.g. Retry-After). Each service subclasses it, so each catches only its own.
 */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
