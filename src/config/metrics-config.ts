/**
 * METRICS_CONFIG: which process metrics and attributes to emit, in the hostmetrics receiver's own
 * configuration shape, so that a receiver configuration is reused as it is. Accepted, from the
 * outside in: a whole collector configuration (`receivers: {host_metrics: {scrapers: {process: ...}}}`,
 * also `hostmetrics` and `name/suffix` ids; exactly one such receiver with a process scraper), a
 * receiver (`scrapers: {process: ...}`), a scrapers map (`process: ...`) or the process scraper's block
 * itself (`metrics: ...`, `resource_attributes: ...`).
 *
 * In that block (PS/config.go 13-62, PS/internal/metadata/generated_config.go 830-834) `metrics` maps a
 * metric name to `{enabled: bool}` and `resource_attributes` an attribute name to `{enabled: bool}`; a
 * name left out keeps the receiver's default (so threads and fds are off, as in the receiver). The
 * receiver's other settings (include, exclude, mute_process_*, scrape_process_delay, the receiver's
 * interval) and the per-metric `aggregation_strategy` / `attributes` and per-attribute
 * `metrics_include` / `metrics_exclude` do not apply to the simulator: they are reported in `notes`. A
 * name the receiver does not know is refused, as the receiver refuses it.
 */
import { extname } from 'node:path';
import { keyName } from '../json/excerpt.ts';
import { JsonInputError, parseStrictJson } from '../json/strict-parse.ts';
import { parseProfileYaml } from '../profiles/parse-yaml.ts';
import { ProfileFileError, readProfileText } from '../profiles/read-file.ts';
import { ValidationError, type ValidationIssue } from '../profiles/validation-error.ts';
import {
  type MetricSelection,
  OPTIONAL_PROCESS_ATTRIBUTES,
  PROCESS_ATTRIBUTE_KEYS,
  PROCESS_METRICS,
  type ProcessAttributeKey,
} from '../telemetry/process-metrics.ts';
import { MAX_NESTING_DEPTH } from './defaults.ts';

const KIND = 'metrics config';

/**
 * Metrics the receiver knows and the simulator does not emit, with why: enabling one is accepted and
 * changes nothing, as in the receiver on Linux without its feature gates (PS/validate_platform_linux.go
 * 18-22; the `@v1` metrics need `scraper.process.EmitV1SystemConventions`, generated_metrics.go 2137-2140).
 */
const NOT_EMITTED: Readonly<Record<string, string>> = {
  'process.handles': 'Windows only; the receiver disables it on Linux',
  'process.context_switches@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.cpu.time@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.cpu.utilization@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.disk.io@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.paging.faults@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.thread.count@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.unix.file_descriptor.count@v1': 'needs the feature gate scraper.process.EmitV1SystemConventions',
  'process.windows.handle.count@v1': 'Windows only, and needs a feature gate',
};

/** Keys a metric entry may hold in the receiver; only `enabled` applies here. */
const METRIC_ENTRY_KEYS = new Set(['enabled', 'aggregation_strategy', 'attributes']);
const ATTRIBUTE_ENTRY_KEYS = new Set(['enabled', 'metrics_include', 'metrics_exclude']);

export interface MetricsConfig {
  selection: MetricSelection;
  /** what the file holds that the simulator does not apply, one sentence each */
  notes: string[];
}

/** The receiver's defaults: what a configuration that names nothing emits. */
export function receiverDefaults(): MetricSelection {
  return {
    metrics: new Set(PROCESS_METRICS.filter((m) => m.receiverDefault).map((m) => m.name)),
    attributes: new Set(PROCESS_ATTRIBUTE_KEYS.filter((key) => !OPTIONAL_PROCESS_ATTRIBUTES.has(key))),
  };
}

/**
 * Reads and applies the file at `path` (YAML, or JSON when it ends in .json), at most 1 MiB.
 * @throws ProfileFileError (a ValidationError) naming the file and what is wrong with it
 */
export function loadMetricsConfig(path: string): MetricsConfig {
  const text = readProfileText(path, KIND);
  let data: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      data = parseStrictJson(text, MAX_NESTING_DEPTH);
    } catch (error) {
      if (!(error instanceof JsonInputError)) throw error;
      throw new ProfileFileError(path, `is not valid JSON: ${error.message}`, '', KIND);
    }
  } else {
    data = parseProfileYaml(path, text, MAX_NESTING_DEPTH, KIND);
  }
  return metricsConfigFrom(data, `${KIND} ${path}`);
}

/**
 * Applies a parsed configuration (see the file's comment) over the receiver's defaults.
 * @throws ValidationError naming each bad field, its value and what was expected
 */
export function metricsConfigFrom(data: unknown, what = KIND): MetricsConfig {
  const { block, at } = processBlock(data, what);
  const issues: ValidationIssue[] = [];
  const notes: string[] = [];
  const selection = receiverDefaults();
  const metrics = selection.metrics as Set<string>;
  const attributes = selection.attributes as Set<ProcessAttributeKey>;
  const known = new Set(PROCESS_METRICS.map((m) => m.name));

  const ignored = Object.keys(block).filter((key) => key !== 'metrics' && key !== 'resource_attributes');
  if (ignored.length > 0) {
    notes.push(
      `${at}: ${ignored.map((key) => named(key, true)).join(', ')} configure the receiver's own scraping and do not apply to the simulator`,
    );
  }
  forEachEntry(block.metrics, `${at}.metrics`, issues, (name, entry, path) => {
    const enabled = enabledOf(entry, path, METRIC_ENTRY_KEYS, issues, notes);
    if (known.has(name)) {
      if (enabled === true) metrics.add(name);
      if (enabled === false) metrics.delete(name);
    } else if (name in NOT_EMITTED) {
      if (enabled === true) notes.push(`${path}: enabled but not emitted (${NOT_EMITTED[name]})`);
    } else {
      issues.push({
        path,
        message: `not a metric of the hostmetrics process scraper; its metrics are ${[...known, ...Object.keys(NOT_EMITTED)].join(', ')}`,
      });
    }
  });
  forEachEntry(block.resource_attributes, `${at}.resource_attributes`, issues, (name, entry, path) => {
    const enabled = enabledOf(entry, path, ATTRIBUTE_ENTRY_KEYS, issues, notes);
    if (!(PROCESS_ATTRIBUTE_KEYS as readonly string[]).includes(name)) {
      issues.push({
        path,
        message: `not a resource attribute of the hostmetrics process scraper; its attributes are ${PROCESS_ATTRIBUTE_KEYS.join(', ')}`,
      });
      return;
    }
    if (enabled === true) attributes.add(name as ProcessAttributeKey);
    if (enabled === false) attributes.delete(name as ProcessAttributeKey);
  });
  if (issues.length > 0) throw new ValidationError(what, issues);
  return { selection, notes };
}

type Block = Record<string, unknown>;

/**
 * A key for a message: metric, attribute and receiver names have dots, `@` and `/`, which the general
 * `keyName` does not show; anything else is described by its length, never quoted.
 */
const named = (key: string, quote = false) =>
  /^[A-Za-z0-9_.@/-]{1,64}$/.test(key) ? (quote ? `"${key}"` : key) : keyName(key, quote);

const isObject = (value: unknown): value is Block =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A receiver id of the hostmetrics receiver: its type (or the deprecated alias), optionally `/name`. */
const isHostmetricsId = (id: string) => /^(host_metrics|hostmetrics)(\/.*)?$/.test(id);

/** The process scraper's block wherever the document holds it, with its dotted path. */
function processBlock(data: unknown, what: string): { block: Block; at: string } {
  const refuse = (path: string, message: string): never => {
    throw new ValidationError(what, [{ path, message }]);
  };
  if (!isObject(data)) {
    return refuse(
      '(root)',
      'expected a collector configuration, a host_metrics receiver, its scrapers or the process scraper block',
    );
  }
  if ('receivers' in data) {
    if (!isObject(data.receivers)) return refuse('receivers', 'expected a map of receivers');
    const found = Object.entries(data.receivers).filter(
      ([id, receiver]) => isHostmetricsId(id) && isObject(receiver) && isObject(receiver.scrapers),
    );
    const withProcess = found.filter(([, receiver]) => 'process' in ((receiver as Block).scrapers as Block));
    if (withProcess.length !== 1) {
      return refuse(
        'receivers',
        withProcess.length === 0
          ? 'no host_metrics (or hostmetrics) receiver with a process scraper'
          : `${withProcess.length} host_metrics receivers with a process scraper (${withProcess.map(([id]) => named(id, true)).join(', ')}); keep one in this file`,
      );
    }
    const [id, receiver] = withProcess[0] as [string, Block];
    return scraperBlock((receiver.scrapers as Block).process, `receivers.${named(id)}.scrapers.process`);
  }
  if ('scrapers' in data) {
    if (!isObject(data.scrapers) || !('process' in data.scrapers)) {
      return refuse('scrapers', 'expected a map of scrapers with a process scraper');
    }
    return scraperBlock(data.scrapers.process, 'scrapers.process');
  }
  if ('process' in data && !('metrics' in data) && !('resource_attributes' in data)) {
    return scraperBlock(data.process, 'process');
  }
  return { block: data, at: '(root)' };

  function scraperBlock(value: unknown, at: string): { block: Block; at: string } {
    // `process:` with nothing under it is a scraper with every default, as in the receiver.
    if (value === null || value === undefined) return { block: {}, at };
    if (!isObject(value)) return refuse(at, 'expected the process scraper settings (a map)');
    return { block: value, at };
  }
}

/** Calls `each` for every entry of a `metrics` or `resource_attributes` map. */
function forEachEntry(
  map: unknown,
  at: string,
  issues: ValidationIssue[],
  each: (name: string, entry: unknown, path: string) => void,
): void {
  if (map === undefined || map === null) return;
  if (!isObject(map)) {
    issues.push({ path: at, message: 'expected a map of names to {enabled: true|false}', value: map });
    return;
  }
  for (const [name, entry] of Object.entries(map)) each(name, entry, `${at}.${named(name)}`);
}

/** An entry's `enabled`: true, false, or undefined when the entry leaves it out (the default holds). */
function enabledOf(
  entry: unknown,
  path: string,
  allowed: ReadonlySet<string>,
  issues: ValidationIssue[],
  notes: string[],
): boolean | undefined {
  if (entry === null || entry === undefined) return undefined;
  if (!isObject(entry)) {
    issues.push({ path, message: 'expected {enabled: true|false}', value: entry });
    return undefined;
  }
  for (const key of Object.keys(entry)) {
    if (key === 'enabled') continue;
    if (allowed.has(key)) notes.push(`${path}.${key}: not applied by the simulator`);
    else
      issues.push({ path: `${path}.${named(key)}`, message: 'unknown field (the receiver refuses it too)' });
  }
  if (!('enabled' in entry)) return undefined;
  if (typeof entry.enabled !== 'boolean') {
    issues.push({
      path: `${path}.enabled`,
      message: 'expected true or false (environment references are not expanded here)',
      value: entry.enabled,
    });
    return undefined;
  }
  return entry.enabled;
}
