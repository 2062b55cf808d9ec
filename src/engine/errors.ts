/**
 * Errors of the engine's public surface. The API maps each code to one HTTP status in one place.
 */
export type EngineErrorCode = 'not_found' | 'conflict' | 'limit_exceeded' | 'invalid' | 'spawn_failed';

export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  /** machine-readable details (the limit and its value, the field and its value...) */
  readonly details: Record<string, unknown>;

  constructor(
    code: EngineErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}
