// Reading a /metrics page in the tests: the Prometheus text format, one sample per line.

import assert from 'node:assert/strict';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Samples of an exposition text; a line that is neither a comment nor a sample fails the test. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE_RE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL_RE)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    const raw = m[3]!;
    // Go's ParseFloat, which Prometheus uses, takes NaN and Inf in any case (prom-client prints "Nan").
    const special = raw.toLowerCase().replace(/^\+/, '');
    const value =
      special === 'inf'
        ? Number.POSITIVE_INFINITY
        : special === '-inf'
          ? Number.NEGATIVE_INFINITY
          : special === 'nan'
            ? Number.NaN
            : Number(raw);
    assert.ok(!Number.isNaN(value) || special === 'nan', `bad value in: ${line}`);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The sample with exactly these labels (undefined when absent). */
  get(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = Object.entries(labels);
    for (const s of this.samples) {
      if (s.name !== name) continue;
      const have = Object.entries(s.labels);
      if (have.length === want.length && want.every(([k, v]) => s.labels[k] === v)) return s.value;
    }
    return undefined;
  }

  /** Like get, 0 when absent (a counter nobody bumped yet). */
  num(name: string, labels: Record<string, string> = {}): number {
    return this.get(name, labels) ?? 0;
  }

  /** Sum over the samples whose labels include `filter`. */
  sum(name: string, filter: Record<string, string> = {}): number {
    let total = 0;
    for (const s of this.samples) {
      if (s.name === name && Object.entries(filter).every(([k, v]) => s.labels[k] === v)) total += s.value;
    }
    return total;
  }

  has(name: string): boolean {
    return this.samples.some((s) => s.name === name);
  }
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return new Scrape(parseExposition(await res.text()));
}
