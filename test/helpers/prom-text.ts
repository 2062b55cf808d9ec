/**
 * A small parser of the Prometheus text exposition format (0.0.4), enough to compare two /metrics
 * pages family by family and series by series.
 */

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromFamily {
  name: string;
  type: string | undefined;
  help: string | undefined;
  unit: string | undefined;
  samples: PromSample[];
}

/** Families by name, in page order. Samples without a `# TYPE` line get a family of their own name. */
export function parsePrometheusText(text: string): Map<string, PromFamily> {
  const families = new Map<string, PromFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) {
      found = { name, type: undefined, help: undefined, unit: undefined, samples: [] };
      families.set(name, found);
    }
    return found;
  };
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const meta = /^#\s+(HELP|TYPE|UNIT)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!meta) continue;
      const [, kind, name, rest = ''] = meta as unknown as [string, string, string, string | undefined];
      const target = family(name);
      if (kind === 'HELP') target.help = rest;
      else if (kind === 'TYPE') target.type = rest;
      else target.unit = rest;
      continue;
    }
    const sample = parseSample(line, index + 1);
    family(familyOf(sample.name, families)).samples.push(sample);
  }
  return families;
}

/** The family a sample belongs to: its own name, or the histogram/summary it is a part of. */
function familyOf(name: string, families: Map<string, PromFamily>): string {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return families.has(base) ? base : name;
}

function parseSample(line: string, lineNumber: number): PromSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`line ${lineNumber}: no metric name in ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === '{') {
    at++;
    while (line[at] !== '}') {
      if (line[at] === ',') at++;
      if (line[at] === '}') break;
      const key = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
      if (!key) throw new Error(`line ${lineNumber}: bad label at column ${at} in ${JSON.stringify(line)}`);
      at += key[0].length;
      let value = '';
      while (line[at] !== '"') {
        if (at >= line.length)
          throw new Error(`line ${lineNumber}: unterminated label value in ${JSON.stringify(line)}`);
        if (line[at] === '\\') {
          const next = line[at + 1];
          value += next === 'n' ? '\n' : (next ?? '');
          at += 2;
        } else {
          value += line[at];
          at++;
        }
      }
      labels[key[1] as string] = value;
      at++;
    }
    at++;
  }
  const [valueText] = line.slice(at).trim().split(/\s+/);
  const value =
    valueText === '+Inf'
      ? Number.POSITIVE_INFINITY
      : valueText === '-Inf'
        ? Number.NEGATIVE_INFINITY
        : Number(valueText);
  if (valueText === undefined || (Number.isNaN(value) && valueText !== 'NaN')) {
    throw new Error(`line ${lineNumber}: bad value ${JSON.stringify(valueText)} in ${JSON.stringify(line)}`);
  }
  return { name, labels, value };
}

/** Fetches and parses a /metrics page. @throws Error naming the URL and status when not 200 */
export async function scrape(url: string): Promise<Map<string, PromFamily>> {
  const response = await fetch(url);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${url}: HTTP ${response.status}: ${text.slice(0, 500)}`);
  return parsePrometheusText(text);
}

/** Distinct values of `label` over the samples of the families whose names start with `prefix`. */
export function labelValues(families: Map<string, PromFamily>, prefix: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const family of families.values()) {
    if (!family.name.startsWith(prefix)) continue;
    for (const sample of family.samples) {
      const value = sample.labels[label];
      if (value !== undefined) values.add(value);
    }
  }
  return values;
}
