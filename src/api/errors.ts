/**
 * The one place where failures become HTTP responses. Every error has the same JSON shape, naming the
 * field, the value given and what was expected, so a client (or a person reading curl output) can fix
 * the request without reading the source. What is echoed is bounded (see json/excerpt.ts): a value at
 * most 3 levels deep, 20 items and 200 characters, a field name 200 characters, 100 issues.
 */
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { MAX_NESTING_DEPTH } from '../config/defaults.ts';
import { EngineError, type EngineErrorCode } from '../engine/errors.ts';
import { boundedValue, truncate } from '../json/excerpt.ts';
import { JsonInputError } from '../json/strict-parse.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import { SourceError } from '../verify/errors.ts';

/** Where a bad value was found. */
export type IssueLocation = 'body' | 'query' | 'path' | 'header';

export interface ApiIssue {
  /** dotted path of the field, e.g. `parameters.process_count`; empty for the whole body */
  field: string;
  in: IssueLocation;
  /** the value given (absent when the field was missing) */
  value?: unknown;
  /** what was expected instead */
  expected: string;
}

export interface ApiErrorBody {
  error: {
    status: number;
    code: string;
    message: string;
    issues: ApiIssue[];
    details?: Record<string, unknown>;
  };
}

/** A failure the API reports as it is: status, machine code, human message and the bad fields. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly issues: ApiIssue[];
  readonly details: Record<string, unknown> | undefined;

  constructor(
    status: ContentfulStatusCode,
    code: string,
    message: string,
    options: { issues?: ApiIssue[]; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = status;
    this.code = code;
    this.issues = options.issues ?? [];
    this.details = options.details;
  }

  /** The JSON answer, every echoed part bounded. */
  toBody(): ApiErrorBody {
    const issues = this.issues.slice(0, MAX_ISSUES).map((issue) => {
      const bounded: ApiIssue = {
        field: truncate(issue.field, ECHO_FIELD_CHARS),
        in: issue.in,
        expected: truncate(issue.expected, ECHO_FIELD_CHARS),
      };
      if ('value' in issue) bounded.value = boundedValue(issue.value);
      return bounded;
    });
    const error: ApiErrorBody['error'] = {
      status: this.status,
      code: this.code,
      message: truncate(this.message, ECHO_MESSAGE_CHARS),
      issues,
    };
    if (this.details) error.details = this.details;
    return { error };
  }
}

/** Issues listed in an answer: a body with 10,000 bad items does not get 10,000 back. */
const MAX_ISSUES = 100;
const ECHO_FIELD_CHARS = 200;
const ECHO_MESSAGE_CHARS = 2000;

const ENGINE_STATUS: Record<EngineErrorCode, ContentfulStatusCode> = {
  not_found: 404,
  conflict: 409,
  limit_exceeded: 422,
  invalid: 422,
  spawn_failed: 503,
};

const HTTP_CODES: Partial<Record<number, string>> = {
  400: 'malformed_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'body_too_large',
  415: 'unsupported_media_type',
};

/** The value at `path` inside `root`, for issues zod reports without their input. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function joinPath(parts: readonly PropertyKey[]): string {
  return parts.map(String).join('.');
}

type ZodIssue = z.ZodError['issues'][number];

/**
 * For a union that failed, the issues of the branch the value was meant for: the only one that failed
 * inside the value (an inline profile with a bad field), else the only one whose type the value had (a
 * duration string of the wrong form); undefined when no branch stands out.
 */
function matchingBranch(issue: ZodIssue & { code: 'invalid_union' }): ZodIssue[] | undefined {
  const inside = issue.errors.filter((branch) => branch.every((inner) => inner.path.length > 0));
  if (inside.length === 1) return inside[0];
  const typed = issue.errors.filter(
    (branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
  );
  return typed.length === 1 ? typed[0] : undefined;
}

/** zod issues of one request part, as API issues naming field, value and expectation. */
export function issuesFromZod(error: z.ZodError, input: unknown, location: IssueLocation): ApiIssue[] {
  return collect(error.issues, [], input, location);
}

function collect(
  zodIssues: readonly ZodIssue[],
  prefix: readonly PropertyKey[],
  input: unknown,
  location: IssueLocation,
): ApiIssue[] {
  const issues: ApiIssue[] = [];
  for (const raw of zodIssues) {
    const issue = { ...raw, path: [...prefix, ...raw.path] } as ZodIssue;
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = matchingBranch(issue);
      if (branch) {
        issues.push(...collect(branch, issue.path, input, location));
        continue;
      }
      const expected = [...new Set(issue.errors.flatMap((inner) => inner.map((one) => one.message)))].join(
        ', or ',
      );
      const entry: ApiIssue = { field: joinPath(issue.path), in: location, expected };
      const value = valueAt(input, issue.path);
      if (value !== undefined) entry.value = value;
      issues.push(entry);
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      // one entry per unknown key, so each is named with its own value
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({
          field: joinPath(path),
          in: location,
          value: valueAt(input, path),
          expected: 'no such field (unknown fields are refused)',
        });
      }
      continue;
    }
    const entry: ApiIssue = { field: joinPath(issue.path), in: location, expected: issue.message };
    const value = 'input' in issue && issue.input !== undefined ? issue.input : valueAt(input, issue.path);
    if (value !== undefined) entry.value = value;
    issues.push(entry);
  }
  return issues;
}

const LOCATIONS: Record<string, IssueLocation> = {
  json: 'body',
  query: 'query',
  param: 'path',
  header: 'header',
};

/** The validation hook of every route: a request that fails its schema gets 422 with every bad field. */
export function validationHook(
  result: { success: boolean; error?: z.ZodError; data?: unknown; target?: string },
  c: Context,
): Response | undefined {
  if (result.success || !result.error) return undefined;
  const location = LOCATIONS[result.target ?? 'json'] ?? 'body';
  const issues = issuesFromZod(result.error, result.data, location);
  const fields = issues
    .slice(0, 10)
    .map((issue) => truncate(issue.field || '(body)', 80))
    .join(', ');
  const error = new ApiError(422, 'validation_failed', `invalid request ${location}: ${fields}`, { issues });
  return c.json(error.toBody(), 422);
}

/** Any thrown error as the one JSON error shape; unexpected ones are 500 and reported to `onUnexpected`. */
export function toApiError(error: unknown, onUnexpected: (error: unknown) => void = () => {}): ApiError {
  if (error instanceof ApiError) return error;
  if (isClientGone(error)) {
    return new ApiError(
      400,
      'request_aborted',
      'the client closed the connection before its request was read',
      {
        cause: error,
      },
    );
  }
  if (error instanceof JsonInputError) return jsonInputError(error);
  if (error instanceof EngineError) {
    return new ApiError(ENGINE_STATUS[error.code], error.code, error.message, {
      details: error.details,
      cause: error,
    });
  }
  if (error instanceof ValidationError) {
    const issues = error.issues.map((issue) => {
      const entry: ApiIssue = { field: issue.path, in: 'body', expected: issue.message };
      if ('value' in issue) entry.value = issue.value;
      return entry;
    });
    return new ApiError(422, 'validation_failed', error.message, { issues, cause: error });
  }
  if (error instanceof SourceError) {
    // The source the request names cannot be read (no answer, or not a Prometheus query API): the
    // request cannot be processed as it is, 422 naming the field; a sink this simulator does not run
    // is a conflict with its configuration, 409.
    if (error.code === 'unavailable')
      return new ApiError(409, 'sink_not_running', error.message, {
        details: { source: error.location },
        cause: error,
      });
    return new ApiError(422, `source_${error.code}`, error.message, {
      issues: [
        {
          field: 'source',
          in: 'body',
          value: error.location,
          expected:
            error.code === 'unreachable'
              ? 'a source that answers'
              : 'a Prometheus-compatible query API that accepts the queries',
        },
      ],
      details: { source: error.location },
      cause: error,
    });
  }
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const message =
      status === 400 && /JSON/i.test(error.message)
        ? `the request body is not valid JSON (${error.message})`
        : status === 415
          ? 'the request body must be JSON: send Content-Type: application/json'
          : error.message || 'request refused';
    const code =
      status === 400 && /JSON/i.test(error.message) ? 'malformed_json' : (HTTP_CODES[status] ?? 'http_error');
    return new ApiError(status, code, message, { cause: error });
  }
  onUnexpected(error);
  return new ApiError(500, 'internal_error', 'the simulator failed to handle this request; see its log', {
    cause: error,
  });
}

/**
 * The client closed its connection while its request body was still being read: Node's HTTP server
 * fails the read with the error it makes for that case, `aborted` with code ECONNRESET (abortIncoming in
 * its _http_server). The answer reaches nobody, and it is no failure of the simulator: it is not logged.
 * Matched on both, so that a reset of a connection the simulator opened itself still counts as its own.
 */
function isClientGone(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.message === 'aborted' &&
    (error as NodeJS.ErrnoException).code === 'ECONNRESET'
  );
}

/** A body refused by the strict JSON reading: 400 for syntax, 422 for a duplicate key or too deep. */
function jsonInputError(error: JsonInputError): ApiError {
  const path = error.path.map(String);
  switch (error.reason) {
    case 'syntax':
      return new ApiError(400, 'malformed_json', `the request body is not valid JSON: ${error.message}`, {
        cause: error,
      });
    case 'too_deep':
      return new ApiError(
        422,
        'nesting_too_deep',
        `the request body nests objects and arrays deeper than ${MAX_NESTING_DEPTH} levels (line ${error.line}, column ${error.column})`,
        {
          issues: [
            { field: path.join('.'), in: 'body', expected: `at most ${MAX_NESTING_DEPTH} levels of nesting` },
          ],
          details: { limit: MAX_NESTING_DEPTH },
          cause: error,
        },
      );
    case 'duplicate_key': {
      const field = [...path, error.key ?? ''].join('.');
      return new ApiError(
        422,
        'duplicate_key',
        `the request body gives the key ${JSON.stringify(truncate(error.key ?? '', 80))} twice in one object${path.length > 0 ? ` (in ${truncate(path.join('.'), 200)})` : ''}, line ${error.line}, column ${error.column}`,
        {
          issues: [{ field, in: 'body', value: error.key, expected: 'each key at most once per object' }],
          cause: error,
        },
      );
    }
  }
}

/** Hono's `onError`: the response for anything a route threw. */
export function errorHandler(onUnexpected: (error: unknown) => void) {
  return (error: unknown, c: Context): Response => {
    const apiError = toApiError(error, onUnexpected);
    const response = c.json(apiError.toBody(), apiError.status);
    if (apiError.status === 401) response.headers.set('WWW-Authenticate', 'Bearer');
    return response;
  };
}

/** Hono's `notFound`: an unknown route, in the same shape. */
export function notFoundHandler(c: Context): Response {
  const error = new ApiError(404, 'not_found', `no route ${c.req.method} ${c.req.path}; see /openapi.json`);
  return c.json(error.toBody(), 404);
}
