/**
 * The capture's small IO pieces: cgroup paths, the process filter, reading a samples file back, and
 * writing outputs without overwriting or following a link.
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
import { inCgroup, parseCgroup } from '../../src/capture/cgroup.ts';
import { compileFilter, describeFilter } from '../../src/capture/filter.ts';
import { writeOutput } from '../../src/capture/output.ts';
import { loadRecording } from '../../src/capture/recording.ts';
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
  assert.throws(() => loadRecording(bad), /cannot read samples file .*bad\.samples\.json/);
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
