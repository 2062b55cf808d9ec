/**
 * The capture's small IO pieces: cgroup paths, the process filter, reading a samples file back, and
 * writing outputs without overwriting or following a link, and within what a profile file may hold.
 */
import assert from 'node:assert/strict';
import {
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadNameMap } from '../../src/capture/anonymise.ts';
import { buildCapture } from '../../src/capture/build.ts';
import { inCgroup, parseCgroup } from '../../src/capture/cgroup.ts';
import { compileFilter, describeFilter } from '../../src/capture/filter.ts';
import {
  fittedProfileYaml,
  ProfileTooLarge,
  replayProfileYaml,
  writeOutput,
} from '../../src/capture/output.ts';
import { loadPriorityRules } from '../../src/capture/priority.ts';
import { loadRecording } from '../../src/capture/recording.ts';
import { buildReplay } from '../../src/capture/replay.ts';
import { MAX_PROFILE_FILE_BYTES } from '../../src/config/defaults.ts';
import { loadProfileFile } from '../../src/profiles/load.ts';
import { readUserFile } from '../../src/profiles/read-file.ts';
import { fakeRecording } from '../helpers/recording.ts';

const dir = mkdtempSync(join(tmpdir(), 'capture-io-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the cgroup is the unified line, or the first hierarchy on a v1-only host; prefixes match whole segments', () => {
  assert.equal(parseCgroup('12:pids:/a\n0::/system.slice/nginx.service\n'), '/system.slice/nginx.service');
  assert.equal(parseCgroup('4:memory:/docker/abc\n3:cpu:/docker/abc\n'), '/docker/abc');
  assert.equal(parseCgroup(''), '');
  assert.ok(inCgroup('/system.slice/nginx.service', '/system.slice'));
  assert.ok(inCgroup('/system.slice/nginx.service', '/system.slice/'));
  assert.ok(inCgroup('/system.slice', '/system.slice'));
  assert.ok(!inCgroup('/system.slicer/x', '/system.slice'));
  assert.ok(inCgroup('/anything', '/'));
});

test('filters: any entry of a kind, every kind given, and never an excluded name', () => {
  const filter = compileFilter({
    names: ['postgres*', 'pg?'],
    users: ['postgres'],
    exclude: ['postgres-old'],
  });
  const p = (name: string, owner = 'postgres', cgroup = '/') => filter({ name, owner, cgroup });
  assert.ok(p('postgres') && p('postgres: writer') && p('pg1'));
  assert.ok(!p('postgres-old') && !p('mysql') && !p('pg12') && !p('postgres', 'root'));
  assert.ok(compileFilter({})({ name: 'x', owner: 'y', cgroup: '' }));
  const byCgroup = compileFilter({ cgroups: ['/system.slice/db.service'] });
  assert.ok(byCgroup({ name: 'x', owner: 'y', cgroup: '/system.slice/db.service/main' }));
  assert.ok(!byCgroup({ name: 'x', owner: 'y', cgroup: '/user.slice' }));
  assert.deepEqual(describeFilter({ names: ['a*'], users: ['u'] }), ['--name a*', '--user u']);
});

test('a samples file reads back as written, and a malformed one is refused naming the field', () => {
  const recording = fakeRecording({ readings: 3, processes: [{ name: 'a', pid: 1 }] });
  const path = join(dir, 'ok.samples.json');
  writeFileSync(path, JSON.stringify(recording));
  assert.deepEqual(loadRecording(path), recording);
  const bad = join(dir, 'bad.samples.json');
  writeFileSync(bad, JSON.stringify({ ...recording, intervalMs: -5 }));
  assert.throws(() => loadRecording(bad), /samples file .*bad\.samples\.json: intervalMs: .*got -5/);
  const point = structuredClone(recording);
  (point.processes[0]?.points[0] as number[])[0] = 7;
  writeFileSync(bad, JSON.stringify(point));
  assert.throws(() => loadRecording(bad), /processes\.0\.points\.0\.0: a reading index below 3/);
  writeFileSync(bad, '{');
  assert.throws(
    () => loadRecording(bad),
    /samples file .*bad\.samples\.json is not a samples file: .*line 1/,
  );
  // Read as strictly as a profile file: a key given twice, a directory, a file over the limit.
  writeFileSync(bad, JSON.stringify(recording).replace('"version":1', '"version":1,"version":1'));
  assert.throws(() => loadRecording(bad), /is not a samples file: a key given twice in one object at line 1/);
  assert.throws(() => loadRecording(dir), /samples file .* is a directory, not a regular file/);
  assert.throws(
    () => loadRecording(join(dir, 'missing.json')),
    /samples file .*missing\.json cannot be opened \(ENOENT\)/,
  );
});

test('a file the user names is read whole, even one whose size stat does not know, and refused past its limit', () => {
  const status = readUserFile('/proc/self/status', {
    limitBytes: 2 ** 20,
    kind: 'tests',
    fail: (p) => new Error(p),
  });
  assert.match(status, /^Name:\t/);
  assert.throws(
    () => readUserFile('/proc/self/status', { limitBytes: 64, kind: 'tests', fail: (p) => new Error(p) }),
    /is larger than 64 bytes \(64 bytes\), the limit for tests: it has more than that/,
  );
  const rules = join(dir, 'rules.yaml');
  writeFileSync(rules, 'postgres*: critical\nnginx: high\n');
  assert.deepEqual(
    loadPriorityRules(rules).map((r) => [r.pattern, r.priority]),
    [
      ['postgres*', 'critical'],
      ['nginx', 'high'],
    ],
  );
  assert.throws(() => loadPriorityRules(dir), /priority rules .* is a directory, not a regular file/);
  assert.throws(
    () => loadNameMap(join(dir, 'nope.yaml')),
    /name map .*nope\.yaml cannot be opened \(ENOENT\)/,
  );
});

test('outputs are created, never overwritten without --force, and a link at the path is replaced, not followed', () => {
  const path = join(dir, 'out.yaml');
  writeOutput(path, 'one\n');
  assert.throws(() => writeOutput(path, 'two\n'), /cannot write .*out\.yaml: .*EEXIST.*--force replaces it/);
  writeOutput(path, 'two\n', { force: true });
  assert.equal(readFileSync(path, 'utf8'), 'two\n');
  const target = join(dir, 'precious');
  writeFileSync(target, 'keep\n');
  const link = join(dir, 'link.yaml');
  symlinkSync(target, link);
  assert.throws(() => writeOutput(link, 'x\n'), /EEXIST/);
  writeOutput(link, 'replaced\n', { force: true });
  assert.equal(readFileSync(target, 'utf8'), 'keep\n', 'the link target is untouched');
  assert.ok(lstatSync(link).isFile(), 'the link itself was replaced by a file');
  assert.throws(() => readlinkSync(link));
  writeOutput(join(dir, 'private.json'), '{}\n', { mode: 0o600 });
  assert.equal(lstatSync(join(dir, 'private.json')).mode & 0o777, 0o600);
});

test('what capture writes fits in a profile file: a long replay is averaged down until it does, a huge profile is refused', () => {
  // 60 processes x 2 patterns x 2500 readings: about 1.7 MB of values as recorded.
  const recording = fakeRecording({
    readings: 2500,
    processes: Array.from({ length: 60 }, (_, i) => ({
      name: `svc-${i}`,
      pid: i + 1,
      cpu: (k: number) => (k * 7 + i) % 50,
      rssMiB: (k: number) => 50 + ((k * 13 + i) % 400) / 10,
    })),
  });
  const capture = buildCapture(recording);
  const asked: number[] = [];
  const text = replayProfileYaml((maxValues) => {
    asked.push(maxValues);
    return buildReplay(capture, recording, { maxValues });
  }, 'test');
  assert.ok(Buffer.byteLength(text) <= MAX_PROFILE_FILE_BYTES, `${Buffer.byteLength(text)} bytes`);
  assert.ok(asked.length >= 2 && (asked.at(-1) as number) < 2500, `values asked: ${asked.join(', ')}`);
  const path = join(dir, 'long.replay.yaml');
  writeOutput(path, text);
  const loaded = loadProfileFile(path);
  const cpu = loaded.templates[0]?.cpu;
  assert.ok(cpu?.pattern === 'replay' && cpu.values.length <= (asked.at(-1) as number));
  assert.equal(cpu.every % 1000, 0, 'whole readings per value');
  assert.ok(loaded.source?.estimates[0]?.notes.some((n) => /readings averaged per value/.test(n)));
  // 800 templates, each with 32 arguments of 200 characters: about 5 MB however it is written.
  const wide = buildCapture(
    fakeRecording({
      readings: 3,
      processes: Array.from({ length: 800 }, (_, i) => ({
        name: `w${i}`,
        pid: i + 1,
        args: Array.from({ length: 32 }, (_, k) => `${k}`.padEnd(200, 'x')),
      })),
    }),
  );
  assert.throws(
    () => fittedProfileYaml(wide.profile, 'x'),
    (error: Error) =>
      error instanceof ProfileTooLarge &&
      /more than a profile file holds \(1 MiB\): keep fewer names with --top N/.test(error.message),
  );
});
