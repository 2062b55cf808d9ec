import type { z } from 'zod';

/** A validation failure whose message names each field, the value given and what was expected. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  readonly issues: ReadonlyArray<{ path: string; message: string; value?: unknown }>;

  constructor(what: string, issues: ReadonlyArray<{ path: string; message: string; value?: unknown }>) {
    super(
      `invalid ${what}: ${issues
        .map(
          (issue) =>
            `${issue.path || '(root)'}: ${issue.message}${'value' in issue ? ` (got ${describe(issue.value)})` : ''}`,
        )
        .join('; ')}`,
    );
    this.issues = issues;
  }

  /** Converts zod's issues (parsed with `reportInput: true`) into named fields and values. */
  static fromZod(what: string, error: z.ZodError, pathPrefix = ''): ValidationError {
    return new ValidationError(
      what,
      error.issues.map((issue) => {
        const path = [pathPrefix, ...issue.path.map(String)].filter(Boolean).join('.');
        const entry: { path: string; message: string; value?: unknown } = { path, message: issue.message };
        if ('input' in issue && issue.input !== undefined) entry.value = issue.input;
        return entry;
      }),
    );
  }
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
