// A small parser of Prometheus' text exposition format (0.0.4) for the metrics tests: every
// sample line must parse (a malformed line fails the test), and samples are looked up by name
// and a subset of their labels.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** `# TYPE` of each metric family. */
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(s: string, line: string): number {
  // Prometheus reads these case-insensitively (Go's ParseFloat); prom-client prints NaN as "Nan".
  if (/^\+?inf$/i.test(s)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(s)) return Number.NEGATIVE_INFINITY;
  if (/^nan$/i.test(s)) return Number.NaN;
  const v = Number(s);
  if (s === '' || Number.isNaN(v)) throw new Error(`bad sample value in: ${line}`);
  return v;
}

/** Parses one sample line: `name{a="x",b="y"} value [timestamp]`. */
export function parseSample(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error(`no metric name in: ${line}`);
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const label = LABEL.exec(line.slice(i))?.[0];
      if (!label || line[i + label.length] !== '=' || line[i + label.length + 1] !== '"') throw new Error(`bad label in: ${line}`);
      i += label.length + 2;
      let value = '';
      for (;;) {
        const c = line[i++];
        if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
        if (c === '"') break;
        if (c === '\\') {
          const e = line[i++];
          value += e === 'n' ? '\n' : e === '\\' ? '\\' : e === '"' ? '"' : `\\${e}`;
        } else value += c;
      }
      if (label in labels) throw new Error(`label ${label} twice in: ${line}`);
      labels[label] = value;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`expected , or } in: ${line}`);
    }
    i++;
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value in: ${line}`);
  const [value, timestamp, extra] = line.slice(i + 1).split(' ');
  if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`trailing text in: ${line}`);
  return { name, labels, value: parseValue(value ?? '', line) };
}

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (m) {
        if (types.has(m[1]!)) throw new Error(`metric ${m[1]} typed twice`);
        types.set(m[1]!, m[2]!);
      } else if (!line.startsWith('# HELP ')) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    samples.push(parseSample(line));
  }
  return { types, samples };
}

function matches(s: Sample, name: string, labels: Record<string, string>): boolean {
  return s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
}

/** The one sample of `name` with these labels (among others); throws when there is none or more than one. */
export function value(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = e.samples.filter((s) => matches(s, name, labels));
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name}${JSON.stringify(labels)}`);
  return found[0]!.value;
}

/** The value, or 0 when no such sample exists (a counter whose label was never used). */
export function valueOr0(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.some((s) => matches(s, name, labels)) ? value(e, name, labels) : 0;
}

/** Sum of every sample of `name` with these labels. */
export function sum(e: Exposition, name: string, labels: Record<string, string> = {}): number {
  return e.samples.filter((s) => matches(s, name, labels)).reduce((a, s) => a + s.value, 0);
}

export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain')) throw new Error(`${url}: content-type ${type}`);
  return parseExposition(await res.text());
}
