/**
 * Typed errors. Each carries the outcome it maps to, so the handler never has
 * to guess from a message string.
 */

/** The input can never succeed as it is: acked and dead-lettered, never retried. */
export class RejectedError extends Error {
  override readonly name = 'RejectedError';
  constructor(
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
  }
}

/** The event itself is malformed or of a type this function does not handle. */
export class InvalidEventError extends RejectedError {}

/** A `{{ }}` template could not be rendered for this event. */
export class TemplateError extends RejectedError {}

/** The configuration is invalid; every problem is listed with its path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly problems: string[],
    readonly origin: string,
  ) {
    super(`invalid configuration (${origin}):\n  - ${problems.join('\n  - ')}`);
  }
}

/** A transient failure (token fetch, connection, timeout): the platform should redeliver. */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}
