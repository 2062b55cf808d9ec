import type { z } from 'zod';
import { describeValue, keyName, truncate } from '../json/excerpt.ts';

/** One bad field: its dotted path, what was expected, and the value given (absent when it must not be shown). */
export interface ValidationIssue {
  path: string;
  message: string;
  value?: unknown;
}

/** Characters of an issue's message kept in the error text (a message may quote a name the user gave). */
const MESSAGE_CHARS = 300;
/** Issues listed in the error text; the rest are counted. */
const LISTED_ISSUES = 20;

/**
 * A validation failure whose message names each field, the value given and what was expected. The
 * message is bounded: values are shown through {@link describeValue} (a one-line scalar, cut; only the
 * kind and size of anything else), messages are cut, and past 20 issues the rest are counted.
 */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly issues: ReadonlyArray<ValidationIssue>;

  /** `message` replaces the generated text, for failures that are not a list of fields (a file's syntax). */
  constructor(what: string, issues: ReadonlyArray<ValidationIssue>, message?: string) {
    super(message ?? `invalid ${what}: ${formatIssues(issues)}`);
    this.issues = issues;
  }

  /**
   * Converts zod's issues (parsed with `reportInput: true`) into named fields and values. Unknown keys
   * become one issue each, without a value; keys that do not read as field names are given by length. `hideRootValue` leaves out the value of the whole input (a
   * file that is one long string is the file's text, not a value to quote).
   */
  static fromZod(
    what: string,
    error: z.ZodError,
    options: { pathPrefix?: string; hideRootValue?: boolean } = {},
  ): ValidationError {
    const issues: ValidationIssue[] = [];
    const join = (parts: readonly PropertyKey[]) =>
      [
        options.pathPrefix ?? '',
        ...parts.map((part) => keyName(typeof part === 'number' ? part : String(part))),
      ]
        .filter(Boolean)
        .join('.');
    for (const issue of error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          issues.push({
            path: join([...issue.path, key]),
            message: 'unknown field (unknown fields are refused)',
          });
        }
        continue;
      }
      const entry: ValidationIssue = { path: join(issue.path), message: issue.message };
      const hidden = options.hideRootValue && issue.path.length === 0;
      if ('input' in issue && issue.input !== undefined && !hidden) entry.value = issue.input;
      issues.push(entry);
    }
    return new ValidationError(what, issues);
  }
}

/** The issues as one bounded line: `path: message (got value); ...`. */
export function formatIssues(issues: ReadonlyArray<ValidationIssue>): string {
  const listed = issues.slice(0, LISTED_ISSUES).map((issue) => {
    const value = 'value' in issue ? ` (got ${describeValue(issue.value)})` : '';
    return `${truncate(issue.path || '(root)', MESSAGE_CHARS)}: ${truncate(issue.message, MESSAGE_CHARS)}${value}`;
  });
  const more = issues.length - listed.length;
  return `${listed.join('; ')}${more > 0 ? `; and ${more} more` : ''}`;
}
