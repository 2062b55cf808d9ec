/**
 * The priority of a captured template. By default, from what the processes were doing:
 * - processes that came and went during the recording: low (the simulator never churns critical ones);
 * - otherwise by the youngest instance's uptime and the instances' mean resident memory:
 *   critical: up for an hour or more and at least 256 MiB (a database, a JVM service);
 *   high:     up for an hour or more and at least 32 MiB;
 *   medium:   up for ten minutes or more;
 *   low:      younger (a job, a shell someone just opened).
 * A rules file overrides it by name: a YAML or JSON mapping of name patterns (`*` any run, `?` one
 * character) to priorities, tried in the file's order, the first match winning.
 */
import { parse as parseYaml } from 'yaml';
import { MAX_PROFILE_FILE_BYTES } from '../config/defaults.ts';
import { compileGlob, type GlobMatcher } from '../engine/glob.ts';
import { readUserFile } from '../profiles/read-file.ts';
import { PRIORITIES, type Priority } from '../profiles/schema.ts';
import { ValidationError } from '../profiles/validation-error.ts';

const HOUR_MS = 3_600_000;

/** The default rule (see the file comment). */
export function defaultPriority(facts: { churns: boolean; uptimeMs: number; rssMiB: number }): Priority {
  if (facts.churns) return 'low';
  if (facts.uptimeMs >= HOUR_MS && facts.rssMiB >= 256) return 'critical';
  if (facts.uptimeMs >= HOUR_MS && facts.rssMiB >= 32) return 'high';
  if (facts.uptimeMs >= 10 * 60_000) return 'medium';
  return 'low';
}

export interface PriorityRule {
  pattern: string;
  priority: Priority;
  matches: GlobMatcher;
}

/** Most rules a file may hold. */
export const MAX_RULES = 1000;

/**
 * Rules from the text of a rules file (a mapping of name pattern to priority, in order).
 * @throws ValidationError naming the pattern and the value when a priority is unknown
 */
export function parsePriorityRules(text: string, what = 'priority rules'): PriorityRule[] {
  let data: unknown;
  try {
    // mapAsMap keeps the file's order even for keys that look like numbers.
    data = parseYaml(text, { mapAsMap: true });
  } catch (error) {
    throw new ValidationError(what, [{ path: '', message: `not YAML or JSON: ${firstLine(error)}` }]);
  }
  if (data === null || data === undefined) return [];
  if (!(data instanceof Map)) {
    throw new ValidationError(what, [
      {
        path: '',
        value: data,
        message: 'a mapping of name patterns to priorities, e.g. "postgres*: critical"',
      },
    ]);
  }
  if (data.size > MAX_RULES) {
    throw new ValidationError(what, [{ path: '', value: data.size, message: `at most ${MAX_RULES} rules` }]);
  }
  const rules: PriorityRule[] = [];
  const issues: Array<{ path: string; message: string; value?: unknown }> = [];
  for (const [key, value] of data) {
    const pattern = String(key);
    if (pattern.length === 0 || pattern.length > 64) {
      issues.push({ path: pattern, value: pattern, message: 'a name pattern of 1 to 64 characters' });
    } else if (typeof value !== 'string' || !PRIORITIES.includes(value as Priority)) {
      issues.push({ path: pattern, value, message: `a priority: ${PRIORITIES.join(', ')}` });
    } else {
      rules.push({ pattern, priority: value as Priority, matches: compileGlob(pattern) });
    }
  }
  if (issues.length) throw new ValidationError(what, issues);
  return rules;
}

/** Reads a rules file (a regular file of at most 1 MiB). @throws ValidationError naming the file */
export function loadPriorityRules(path: string): PriorityRule[] {
  const what = `priority rules ${path}`;
  const text = readUserFile(path, {
    limitBytes: MAX_PROFILE_FILE_BYTES,
    kind: 'rules files',
    fail: (problem) => new ValidationError(what, [{ path: '', message: problem }], `${what} ${problem}`),
  });
  return parsePriorityRules(text, what);
}

/** The first rule's priority that matches `name`, or undefined. */
export function rulePriority(rules: readonly PriorityRule[], name: string): Priority | undefined {
  return rules.find((rule) => rule.matches(name))?.priority;
}

/** The parser's message up to its position, without the quoted lines of the file that follow it. */
function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0] ?? '';
}
