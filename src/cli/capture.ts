/**
 * `process-simulator capture`: records this host's processes from /proc for a while, fits a profile
 * to what it saw, and writes it (with --keep-samples also the raw readings and a profile that replays
 * them). A first SIGINT or SIGTERM ends the recording early and keeps what was read; a second exits.
 */
import { dirname, join } from 'node:path';
import { type Anonymiser, anonymiseRecording, hashAnonymiser, loadNameMap } from '../capture/anonymise.ts';
import { buildCapture, CaptureError } from '../capture/build.ts';
import {
  fittedProfileYaml,
  headerFor,
  ProfileTooLarge,
  replayProfileYaml,
  writeOutput,
} from '../capture/output.ts';
import { loadPriorityRules } from '../capture/priority.ts';
import { type Progress, record } from '../capture/recorder.ts';
import { loadRecording, type Recording } from '../capture/recording.ts';
import { buildReplay } from '../capture/replay.ts';
import { formatDuration } from '../profiles/units.ts';
import { parseCaptureArgs } from './capture-args.ts';
import type { Io } from './commands.ts';
import { HELP } from './help.ts';
import type { StopSignals } from './stop-signals.ts';

/** Exit codes: 0 written, 1 nothing could be made or written, 2 bad usage (thrown to main). */
export async function captureCommand(io: Io, argv: readonly string[], signals: StopSignals): Promise<number> {
  const args = parseCaptureArgs(argv);
  if (args.help) {
    io.out(`${HELP.capture}\n`);
    return 0;
  }
  // Everything that can be refused is read before the recording, not after ten minutes of it.
  const rules = args.priorities ? loadPriorityRules(args.priorities) : [];
  let anonymiser: Anonymiser | undefined;
  if (args.nameMap) anonymiser = loadNameMap(args.nameMap, args.salt);
  else if (args.anonymise) anonymiser = hashAnonymiser(args.salt);
  let recording: Recording;
  if (args.fromSamples) {
    recording = loadRecording(args.fromSamples);
  } else {
    const progress = progressWriter(io);
    io.err(
      `capture: recording ${formatDuration(args.durationMs)}, a reading every ${formatDuration(args.intervalMs)} (Ctrl-C ends it early and keeps what was read)\n`,
    );
    recording = await record({
      durationMs: args.durationMs,
      intervalMs: args.intervalMs,
      filter: args.filter,
      signal: signals.signal,
      onProgress: progress.update,
    });
    progress.done();
    if (signals.signal.aborted) {
      io.err(
        `capture: stopped by ${String(signals.signal.reason)} after ${recording.readings.length} readings\n`,
      );
    }
  }
  if (recording.readings.length < 2) {
    io.err(`process-simulator: capture: ${recording.readings.length} reading(s); CPU needs at least 2\n`);
    return 1;
  }
  let capture: ReturnType<typeof buildCapture>;
  try {
    capture = buildCapture(recording, {
      rules,
      anonymiser,
      top: args.top,
      scale: args.scale,
      profileName: args.profileName,
    });
  } catch (error) {
    if (!(error instanceof CaptureError)) throw error;
    io.err(`process-simulator: capture: ${error.message}\n`);
    return 1;
  }
  const { profile, source } = capture;
  // Everything is made before anything is written: a replay too large for a profile file leaves no
  // half-written set behind.
  let yaml: string;
  let replayYaml: string | undefined;
  try {
    yaml = fittedProfileYaml(profile, headerFor(profile, 'A profile fitted to a recording of a real host.'));
    if (args.keepSamples) {
      const scaled = args.scale !== undefined && args.scale !== 1;
      const build = (maxValues: number) => buildReplay(capture, recording, { anonymiser, scaled, maxValues });
      replayYaml = replayProfileYaml(
        build,
        headerFor(profile, 'Each process replays its recorded readings.'),
      );
    }
  } catch (error) {
    if (!(error instanceof ProfileTooLarge)) throw error;
    io.err(`process-simulator: capture: ${error.message}\n`);
    return 1;
  }
  if (args.out) writeOutput(args.out, yaml, { force: args.force });
  else io.out(yaml);
  const written = [args.out ?? 'standard output'];
  if (replayYaml !== undefined && args.out) {
    const base = join(dirname(args.out), args.out.replace(/^.*\//, '').replace(/\.(ya?ml|json)$/i, ''));
    const samples = anonymiser ? anonymiseRecording(recording, anonymiser) : recording;
    // The raw readings carry owners, cgroups and full command lines: readable by the owner only.
    writeOutput(`${base}.samples.json`, `${JSON.stringify(samples)}\n`, { force: args.force, mode: 0o600 });
    writeOutput(`${base}.replay.yaml`, replayYaml, { force: args.force });
    written.push(`${base}.samples.json`, `${base}.replay.yaml`);
  }
  const processes = profile.templates.reduce((sum, t) => sum + t.count, 0);
  const left = source.skipped.reduce((sum, s) => sum + s.processes, 0);
  io.err(
    `capture: ${profile.templates.length} templates, ${processes} processes from ${recording.processes.length} recorded; ${left} left out (see source.skipped); wrote ${written.join(', ')}\n`,
  );
  return 0;
}

/** A progress line: redrawn in place on a terminal, a line per tenth of the recording otherwise. */
function progressWriter(io: Io): { update: (progress: Progress) => void; done: () => void } {
  let lastTenth = -1;
  let drawn = false;
  return {
    update(p) {
      const left = Math.max(0, ((p.readings - p.reading) * p.elapsedMs) / Math.max(1, p.reading - 1));
      const line = `capture: reading ${p.reading}/${p.readings}, ${p.live} processes live, ${p.seen} seen, ${p.exited} exited${p.reading > 1 ? `, ${formatDuration(left)} left` : ''}`;
      if (io.tty) {
        io.err(`\r\x1b[2K${line}`);
        drawn = true;
        return;
      }
      const tenth = Math.floor((p.reading * 10) / p.readings);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        io.err(`${line}\n`);
      }
    },
    done() {
      if (drawn) io.err('\n');
    },
  };
}
