/**
 * Values that used to slip through the door: durations a timer cannot wait for (they fired at once),
 * and control characters in arguments (a NUL left a start half-spawned; newlines reached `ps`).
 * Generated values, each refused naming the field, the value and the limit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/config.ts';
import { startTimer } from '../../src/engine/timers.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import { hasControlCharacter } from '../../src/profiles/schema.ts';
import { MAX_DURATION_MS } from '../../src/profiles/units.ts';
import { ValidationError } from '../../src/profiles/validation-error.ts';

const profileWith = (template: Record<string, unknown>) => ({
  name: 'door',
  templates: [{ name: 'p', count: 1, priority: 'low', ...template }],
});

function refused(input: unknown, field: RegExp): ValidationError {
  try {
    validateProfile(input);
  } catch (error) {
    assert.ok(error instanceof ValidationError, String(error));
    assert.ok(
      error.issues.some((issue) => field.test(issue.path)),
      `${error.message} should name ${field}`,
    );
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(input).slice(0, 200)}`);
}

test('every duration a timer would cut short is refused, in profiles and in the environment', () => {
  const tooLong = fc.oneof(
    fc.integer({ min: Math.ceil(MAX_DURATION_MS / 3_600_000) + 1, max: 10_000_000 }).map((h) => `${h}h`),
    fc.integer({ min: 25, max: 100_000 }).map((d) => `${d}d`),
    fc.constantFrom('999h', '25d', '597h', '1e400', `${MAX_DURATION_MS + 1}ms`, '99999999999999999999999s'),
  );
  fc.assert(
    fc.property(tooLong, (text) => {
      refused(profileWith({ restart_delay: text }), /restart_delay/);
      refused(profileWith({ lifetime: text, priority: 'low' }), /lifetime/);
      refused({ ...profileWith({}), chaos: { spike_duration: text } }, /chaos\.spike_duration/);
      assert.throws(() => loadConfig({ DURATION: text }), /DURATION/);
      assert.throws(() => loadConfig({ MAX_DURATION: text }), /MAX_DURATION/);
    }),
    { numRuns: 300 },
  );
  // The longest a timer waits is still accepted.
  assert.equal(
    validateProfile(profileWith({ restart_delay: `${MAX_DURATION_MS}ms` })).templates[0]?.restart_delay,
    MAX_DURATION_MS,
  );
  assert.throws(() => startTimer(() => {}, MAX_DURATION_MS + 1), RangeError);
  assert.throws(() => startTimer(() => {}, Number.NaN), RangeError);
});

test('arguments with control characters are refused; printable text of any script is kept', () => {
  const control = fc
    .integer({ min: 0, max: 0x1f })
    .chain((code) =>
      fc
        .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))
        .map(([a, b]) => `${a}${String.fromCharCode(code)}${b}`),
    );
  fc.assert(
    fc.property(fc.oneof(control, fc.constant('del\u007f')), (arg) => {
      const error = refused(profileWith({ args: ['ok', arg] }), /^templates\.0\.args\.1$/);
      assert.match(error.message, /control characters/);
    }),
    { numRuns: 500 },
  );
  const printable = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !hasControlCharacter(s));
  fc.assert(
    fc.property(printable, (arg) => {
      assert.deepEqual(validateProfile(profileWith({ args: [arg] })).templates[0]?.args, [arg]);
    }),
    { numRuns: 500 },
  );
});
