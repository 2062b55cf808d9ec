/**
 * Why a verification could not run at all, as opposed to a pipeline that failed it: the CLI exits
 * with 2 for these (1 is kept for differences), the API answers 422 (the source the request names) or
 * 409 (no sink).
 */

export type SourceErrorCode =
  /** the source did not answer (connection refused, timeout, DNS) */
  | 'unreachable'
  /** it answered with an error (a bad selector, a 5xx) or with something that is not its API */
  | 'refused'
  /** the source is not set up (the simulator runs no OTLP sink) */
  | 'unavailable';

export class SourceError extends Error {
  override readonly name = 'SourceError';
  readonly code: SourceErrorCode;
  /** what was asked, e.g. the URL */
  readonly location: string;

  constructor(code: SourceErrorCode, location: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.location = location;
  }
}
