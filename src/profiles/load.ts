/**
 * Turns a profile name, a profile file (YAML or JSON) or an inline object into a validated Profile.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_PROFILES, PROFILE_ALIASES } from './builtin.ts';
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
export function validateProfile(input: unknown, what = 'profile'): Profile {
  const result = profileSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw ValidationError.fromZod(what, result.error);
  return result.data;
}

/**
 * Reads and validates a profile file. `.json` is parsed as JSON, anything else as YAML (a superset).
 * @throws Error naming the file when it cannot be read or parsed; ValidationError for bad fields
 */
export function loadProfileFile(path: string): Profile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read profile file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let data: unknown;
  try {
    data = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new Error(
      `profile file ${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return validateProfile(data, `profile file ${path}`);
}
