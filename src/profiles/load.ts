/**
 * Turns a profile name, a profile file (YAML or JSON) or an inline object into a validated Profile.
 */
import { extname } from 'node:path';
import { MAX_NESTING_DEPTH, type MAX_PROFILE_FILE_BYTES } from '../config/defaults.ts';
import { keyName } from '../json/excerpt.ts';
import { JsonInputError, parseStrictJson } from '../json/strict-parse.ts';
import { BUILTIN_PROFILES, PROFILE_ALIASES } from './builtin.ts';
import { dotted, parseProfileYaml } from './parse-yaml.ts';
import { ProfileFileError, readProfileText } from './read-file.ts';
import { type Profile, profileSchema } from './schema.ts';
import { ValidationError } from './validation-error.ts';

/** Names accepted by {@link builtinProfile}, aliases included. */
export function builtinProfileNames(): string[] {
  return [...Object.keys(BUILTIN_PROFILES), ...Object.keys(PROFILE_ALIASES)];
}

/**
 * The built-in profile `name` (or alias), validated.
 * @throws ValidationError naming the unknown profile and the known ones
 */
export function builtinProfile(name: string): Profile {
  const input = BUILTIN_PROFILES[PROFILE_ALIASES[name] ?? name];
  if (!input) {
    throw new ValidationError('profile', [
      {
        path: 'profile',
        value: name,
        message: `unknown profile; expected one of ${builtinProfileNames().join(', ')}`,
      },
    ]);
  }
  return validateProfile(input);
}

/**
 * Validates a profile given as data (parsed file, API body).
 * @throws ValidationError listing every bad field with its value
 */
export function validateProfile(
  input: unknown,
  what = 'profile',
  options: { hideRootValue?: boolean } = {},
): Profile {
  const result = profileSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw ValidationError.fromZod(what, result.error, options);
  return result.data;
}

/**
 * Reads and validates a profile file. `.json` is parsed as JSON, anything else as YAML (a superset).
 * The file must be a regular file of at most {@link MAX_PROFILE_FILE_BYTES}; a key given twice and
 * nesting deeper than {@link MAX_NESTING_DEPTH} are refused. No error quotes the file's lines: syntax
 * errors give a line and column, bad fields a short excerpt of their value.
 * @throws ProfileFileError (a ValidationError) naming the file and what is wrong with it
 */
export function loadProfileFile(path: string): Profile {
  const text = readProfileText(path);
  let data: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      data = parseStrictJson(text, MAX_NESTING_DEPTH);
    } catch (error) {
      if (!(error instanceof JsonInputError)) throw error;
      const field = error.reason === 'duplicate_key' ? [...error.path, error.key ?? ''] : error.path;
      throw new ProfileFileError(path, jsonProblem(error), dotted(field));
    }
  } else {
    data = parseProfileYaml(path, text, MAX_NESTING_DEPTH);
  }
  return validateProfile(data, `profile file ${path}`, { hideRootValue: true });
}

function jsonProblem(error: JsonInputError): string {
  const where = `at line ${error.line}, column ${error.column}`;
  switch (error.reason) {
    case 'duplicate_key': {
      const inside = error.path.length > 0 ? ` in ${dotted(error.path)}` : '';
      return `gives the key ${keyName(error.key ?? '', true)} twice${inside} ${where}`;
    }
    case 'too_deep':
      return `nests deeper than ${error.maxDepth} levels ${where}`;
    case 'syntax':
      return `is not valid JSON: ${error.message}`;
  }
}
