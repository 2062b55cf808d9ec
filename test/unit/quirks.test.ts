/**
 * The pending_signals quirk at the door and on its way to the worker, and the ground truth derived
 * from a template: the mask the kernel will show, the name's bytes, the command line's length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { expectedOf } from '../../src/engine/expected.ts';
import type { ManagedProcess } from '../../src/engine/managed-process.ts';
import { paddedArgs, paddedLength, pendingMaskOf, quirkEnv } from '../../src/engine/quirks.ts';
import { validateProfile } from '../../src/profiles/load.ts';
import { PENDABLE_SIGNALS, type Template } from '../../src/profiles/schema.ts';

const template = (quirks: unknown, extra: Record<string, unknown> = {}) =>
  validateProfile({ name: 'q', templates: [{ name: 'q', count: 1, priority: 'low', quirks, ...extra }] })
    .templates[0] as Template;

/** A process as the engine would hold it after spawning `t` (what expectedOf reads). */
function managed(t: Template, argvPrefix: string[] = []): ManagedProcess {
  return {
    name: t.name,
    template: t,
    executable: `/run/psim/bin/${t.name}`,
    argvPrefix,
    targets: { cpuPermille: 0, rssKiB: 0, threads: t.threads, fds: t.fds },
  } as unknown as ManagedProcess;
}

describe('pending_signals', () => {
  it('takes the signals a worker can hold, each once, and refuses the ones it needs', () => {
    assert.deepEqual(template({ pending_signals: ['SIGUSR2', 'SIGHUP'] }).quirks?.pending_signals, [
      'SIGUSR2',
      'SIGHUP',
    ]);
    for (const bad of [['SIGTERM'], ['SIGUSR1'], ['SIGKILL'], ['SIGCONT'], ['SIGUSR2', 'SIGUSR2'], []]) {
      assert.throws(() => template({ pending_signals: bad }), /quirks\.pending_signals/, JSON.stringify(bad));
    }
  });

  it('reaches the worker as signal numbers and gives the mask status ShdPnd will show', () => {
    assert.equal(quirkEnv({ pending_signals: ['SIGUSR2', 'SIGHUP'] }).PSIM_PENDING_SIGNALS, '12,1');
    assert.equal(pendingMaskOf(['SIGUSR2', 'SIGHUP']), 2049);
    assert.equal(pendingMaskOf(undefined), 0);
    fc.assert(
      fc.property(fc.subarray([...PENDABLE_SIGNALS]), (signals) => {
        const numbers = (quirkEnv({ pending_signals: signals }).PSIM_PENDING_SIGNALS ?? '')
          .split(',')
          .filter(Boolean)
          .map(Number);
        const mask = numbers.reduce((sum, n) => sum | (1 << (n - 1)), 0);
        assert.equal(pendingMaskOf(signals), signals.length === 0 ? 0 : mask);
      }),
    );
  });
});

describe('the ground truth of a template', () => {
  it('names, paths and command lines as the kernel will hold them', () => {
    const plain = template(undefined, { args: ['--port', '80'] });
    const expected = expectedOf(managed(plain));
    assert.equal(expected.executableName, 'q');
    assert.equal(expected.executableNameHex, '71');
    assert.equal(expected.executablePath, '/run/psim/bin/q');
    assert.equal(expected.command, 'q');
    assert.equal(expected.commandLineBytes, 2 + 7 + 3);
    // the fallback worker's script comes between argv[0] and the arguments
    assert.equal(expectedOf(managed(plain, ['/w.js'])).commandLineBytes, 2 + 6 + 7 + 3);
    assert.equal(expected.stopped, false);
    assert.equal(expected.zombieChildren, 0);

    const odd = template({
      comm_hex: '626164fffe6e616d65',
      deleted_executable: true,
      zombie_child: true,
      stopped: true,
    });
    const truth = expectedOf(managed(odd));
    assert.equal(truth.executableNameHex, '626164fffe6e616d65');
    assert.equal(truth.executableNameUtf8, false);
    assert.equal(truth.executablePath, '/run/psim/bin/q (deleted)');
    assert.equal(truth.zombieChildren, 1);
    assert.equal(truth.stopped, true);

    // a padded command line is exactly as long as asked, as the padding makes it, for any length
    const long = template({ command_line_bytes: 102_400 });
    assert.equal(expectedOf(managed(long)).commandLineBytes, 102_400);
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 40 }), { maxLength: 5 }),
        fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }),
        (args, bytes) => {
          const argv = ['name', ...paddedArgs('name', args, bytes)];
          const length = argv.reduce((sum, arg) => sum + Buffer.byteLength(arg) + 1, 0);
          assert.equal(paddedLength('name', args, bytes), length);
        },
      ),
    );
  });
});
