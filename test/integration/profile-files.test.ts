/**
 * PROFILE_FILE naming something that is not a profile: a secret file, a device, a FIFO, a huge file.
 * Each is refused with a message naming the file and the reason (the 1 MiB limit for size), quoting
 * none of its content, both from the loader and from the real command line (stderr and exit code 2).
 * Duplicate keys and nesting are refused in YAML and JSON files at any depth.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { MAX_NESTING_DEPTH, MAX_PROFILE_FILE_BYTES } from '../../src/config/defaults.ts';
import { loadProfileFile } from '../../src/profiles/load.ts';
import { ValidationError } from '../../src/profiles/validation-error.ts';

const exec = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;
const NODE = process.execPath;

/** Fake secret lines in the shape of /etc/shadow, each with a marker that must never be printed. */
const MARK = `Zq${process.pid}x`;
const SHADOW_LINES = [
  `root:$6$${MARK}salt$${MARK}hashAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:19700:0:99999:7:::`,
  `daemon:*:19700:0:99999:7:::`,
  `alice:$y$j9T$${MARK}alice$${MARK}BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB:19701:0:99999:7:::`,
  `password: ${MARK}hunter2`,
  `api_key=${MARK}0123456789abcdef`,
];

/** Every run of 12 characters of the file's lines that a message must not contain. */
function assertQuotesNothing(text: string, lines: readonly string[], what: string) {
  assert.ok(!text.includes(MARK), `${what} quotes a secret: ${text}`);
  for (const line of lines) {
    for (let i = 0; i + 12 <= line.length; i += 4) {
      const piece = line.slice(i, i + 12);
      if (/^[\w -]+$/.test(piece) && !/[:$*=]/.test(piece)) continue; // plain words may be field names
      assert.ok(!text.includes(piece), `${what} quotes ${JSON.stringify(piece)}: ${text}`);
    }
  }
}

function refusal(path: string): ValidationError {
  try {
    loadProfileFile(path);
  } catch (error) {
    assert.ok(error instanceof ValidationError, `a ValidationError, got ${error}`);
    return error;
  }
  assert.fail(`${path} was accepted`);
}

/** The CLI's `plan` with the file: exit code and stderr. */
async function planWith(path: string, env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(NODE, ['src/main.ts', 'plan', '--profile-file', path], {
      cwd: ROOT,
      timeout: 60_000,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number | null; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe('profile files that are not profiles', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'profile-files-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a secret file, as YAML or JSON, one line or many, is refused without quoting a line', async () => {
    const files: Record<string, string> = {
      shadow: `${SHADOW_LINES.slice(0, 3).join('\n')}\n`,
      'shadow.yaml': `${SHADOW_LINES.join('\n')}\n`,
      'one-line': SHADOW_LINES[0] as string,
      'shadow.json': `${SHADOW_LINES.join('\n')}\n`,
      'secret.yaml': `password: ${MARK}hunter2\ntoken: "${MARK}"\nlist: [${MARK}a, ${MARK}b]\n`,
      'secret.json': JSON.stringify({ password: `${MARK}hunter2`, nested: { token: MARK } }),
      'env-like': `${SHADOW_LINES[4]}\nDB_PASSWORD=${MARK}pw\n`,
    };
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      writeFileSync(path, content, { mode: 0o600 });
      const error = refusal(path);
      assert.ok(error.message.includes(path), `names the file: ${error.message}`);
      assertQuotesNothing(error.message, content.split('\n'), name);
      assertQuotesNothing(JSON.stringify(error.issues), content.split('\n'), `${name} issues`);
      const cli = await planWith(path);
      assert.equal(cli.code, 2, cli.output);
      assertQuotesNothing(cli.output, content.split('\n'), `${name} on the command line`);
    }
  });

  test('/proc/self/environ of the simulator does not leak its environment', async () => {
    const cli = await planWith('/proc/self/environ', { LEAK_CHECK: `${MARK}-env-secret` });
    assert.equal(cli.code, 2, cli.output);
    assert.ok(!cli.output.includes(MARK), cli.output);
  });

  test('devices, FIFOs, directories and files over 1 MiB are refused before reading, naming the limit', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `${SHADOW_LINES.join('\n')}\n`.repeat(Math.ceil((2 * 1024 * 1024) / 300)));
    const exactly = join(dir, 'exactly.yaml');
    const oneMore = join(dir, 'one-more.yaml');
    writeFileSync(exactly, `# ${'x'.repeat(MAX_PROFILE_FILE_BYTES - 3)}\n`);
    writeFileSync(oneMore, `# ${'x'.repeat(MAX_PROFILE_FILE_BYTES - 2)}\n`);
    const fifo = join(dir, 'fifo.yaml');
    const made = spawnSync('mkfifo', [fifo]);
    assert.equal(made.status, 0, `mkfifo: ${made.stderr}`);
    symlinkSync(big, join(dir, 'link-to-big.yaml'));
    symlinkSync('/dev/zero', join(dir, 'zero.yaml'));
    mkdirSync(join(dir, 'a-directory.yaml'));
    const cases: Array<[string, RegExp]> = [
      [big, /is larger than 1 MiB \(1048576 bytes\), the limit for profile files: it has \d+ bytes/],
      [join(dir, 'link-to-big.yaml'), /is larger than 1 MiB \(1048576 bytes\), the limit for profile files/],
      [oneMore, /is larger than 1 MiB \(1048576 bytes\), the limit for profile files: it has 1048577 bytes/],
      ['/dev/zero', /is a character device, not a regular file/],
      [join(dir, 'zero.yaml'), /is a character device, not a regular file/],
      [fifo, /is a FIFO, not a regular file/],
      [join(dir, 'a-directory.yaml'), /is a directory, not a regular file/],
      [join(dir, 'missing.yaml'), /cannot be opened \(ENOENT\)/],
    ];
    for (const [path, reason] of cases) {
      const error = refusal(path);
      assert.match(error.message, reason);
      assert.ok(error.message.startsWith(`profile file ${path} `), error.message);
      assertQuotesNothing(error.message, SHADOW_LINES, path);
      const cli = await planWith(path);
      assert.equal(cli.code, 2, cli.output);
      assert.match(cli.output, reason);
    }
    // exactly at the limit is read (and refused for what it holds: a comment is no profile)
    assert.doesNotMatch(refusal(exactly).message, /larger than/);
  });

  test('a 1 MiB YAML file of distinct keys is read in one pass and refused for its fields', () => {
    let text = '';
    for (let i = 0; text.length < MAX_PROFILE_FILE_BYTES - 40; i++) text += `key_${i}: ${MARK}\n`;
    const path = join(dir, 'many-keys.yaml');
    writeFileSync(path, text);
    const error = refusal(path);
    assert.match(error.message, /key_0: unknown field/);
    assert.match(error.message, /and \d+ more$/);
    assert.ok(!error.message.includes(MARK));
  });
});

describe('duplicate keys and nesting in profile files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'profile-dups-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const profile = () => ({
    name: 'mine',
    templates: [
      {
        name: 'web-{i}',
        count: 2,
        priority: 'high',
        cpu: { pattern: 'spiky', base: 1, peak: 20, every: '30s', for: '5s' },
      },
      {
        name: 'db',
        count: 1,
        priority: 'critical',
        memory: { pattern: 'growing', start: 1, max: 9, per_minute: 1 },
      },
    ],
    chaos: { failures_per_minute: 1 },
  });

  /** Every object in `value` with the path to it. */
  function objectsIn(
    value: unknown,
  ): Array<{ path: Array<string | number>; object: Record<string, unknown> }> {
    const found: Array<{ path: Array<string | number>; object: Record<string, unknown> }> = [];
    const stack: Array<[unknown, Array<string | number>]> = [[value, []]];
    for (let entry = stack.pop(); entry; entry = stack.pop()) {
      const [item, path] = entry;
      if (Array.isArray(item)) {
        item.forEach((child, i) => {
          stack.push([child, [...path, i]]);
        });
      } else if (item && typeof item === 'object') {
        found.push({ path, object: item as Record<string, unknown> });
        for (const [key, child] of Object.entries(item)) stack.push([child, [...path, key]]);
      }
    }
    return found;
  }

  /** JSON text of `value` with `key` given a second time in the object at `path` (JSON is also YAML). */
  function withDuplicate(
    value: unknown,
    path: ReadonlyArray<string | number>,
    key: string,
    at: number,
  ): string {
    const write = (item: unknown, here: ReadonlyArray<string | number>): string => {
      if (Array.isArray(item)) return `[${item.map((child, i) => write(child, [...here, i])).join(', ')}]`;
      if (!item || typeof item !== 'object') return JSON.stringify(item);
      const entries = Object.entries(item).map(
        ([k, child]) => `${JSON.stringify(k)}: ${write(child, [...here, k])}`,
      );
      if (here.length === path.length && here.every((p, i) => p === path[i])) {
        entries.splice(at % (entries.length + 1), 0, `${JSON.stringify(key)}: 1`);
      }
      return `{\n${entries.join(',\n')}\n}`;
    };
    return write(value, []);
  }

  test('a key given twice anywhere is refused, naming the key and the path, in .json and .yaml files', () => {
    const objects = objectsIn(profile());
    fc.assert(
      fc.property(
        fc.nat(),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('.json', '.yaml'),
        (which, keyIndex, at, ext) => {
          const { path, object } = objects[which % objects.length] as (typeof objects)[number];
          const keys = Object.keys(object);
          const key = keys[keyIndex % keys.length] as string;
          const file = join(dir, `dup${ext}`);
          writeFileSync(file, withDuplicate(profile(), path, key, at));
          const error = refusal(file);
          const inside = path.length > 0 ? ` in ${path.join('.')}` : '';
          assert.match(
            error.message,
            new RegExp(
              `gives the key "${key}" twice${inside.replaceAll('.', '\\.')} at line \\d+, column \\d+$`,
            ),
          );
          assert.equal(error.issues[0]?.path, [...path, key].join('.'));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('YAML block mappings: a key given twice, and `1` next to "1", are refused', () => {
    const file = join(dir, 'block.yaml');
    writeFileSync(
      file,
      'name: mine\ntemplates:\n  - name: a\n    count: 1\n    priority: low\n    count: 2\n',
    );
    assert.match(refusal(file).message, /gives the key "count" twice in templates\.0 at line 6, column 5$/);
    writeFileSync(file, 'name: mine\ntemplates: []\nchaos:\n  1: a\n  "1": b\n');
    assert.match(refusal(file).message, /gives the key "1" twice in chaos at line 5, column 3$/);
  });

  test('nesting up to the limit is read, one level more is refused, in YAML block, YAML flow and JSON', () => {
    for (const depth of [MAX_NESTING_DEPTH - 1, MAX_NESTING_DEPTH, MAX_NESTING_DEPTH + 1, 5000]) {
      // the profile is one level; the rest hang under an unknown key
      let json = '1';
      for (let level = 1; level < depth; level++) json = `{"k": ${json}}`;
      // block style: one line per level, indented by two spaces more each time
      const block = Array.from({ length: depth - 1 }, (_, level) => `${'  '.repeat(level)}k:`)
        .concat(`${'  '.repeat(depth - 1)}1`)
        .join('\n');
      const texts: Record<string, string> = {
        'deep.json': `{"name": "mine", "templates": [], "extra": ${json}}`,
        'deep-flow.yaml': `{"name": "mine", "templates": [], "extra": ${json}}`,
      };
      if (depth < 100)
        texts['deep-block.yaml'] = `name: mine\ntemplates: []\nextra:\n${block
          .split('\n')
          .map((l) => `  ${l}`)
          .join('\n')}\n`;
      for (const [name, text] of Object.entries(texts)) {
        const file = join(dir, name);
        writeFileSync(file, text);
        const message = refusal(file).message;
        if (depth <= MAX_NESTING_DEPTH) assert.match(message, /extra: unknown field/, `${name} at ${depth}`);
        else
          assert.match(
            message,
            new RegExp(`nests deeper than ${MAX_NESTING_DEPTH} levels at line \\d+, column \\d+`),
            `${name} at ${depth}`,
          );
      }
    }
  });
});
