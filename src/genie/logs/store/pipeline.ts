// The per-line half of LogQL: stream matchers and the pipeline stages (line filters, parsers,
// label filters, label selection) run over one entry at a time. Pure; no storage, no clock.

import { runPattern, runRegexp } from './extract.js';
import { parseLogfmt } from './logfmt.js';
import { renderTemplate, TemplateError } from './template.js';
import { type LabelFilterExpr, type LabelMatcher, parseBytes, parseDurationNs, type Stage } from './logql.js';

export type Labels = Record<string, string>;

export function matchOne(m: LabelMatcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re!.test(value);
    case '!~':
      return !m.re!.test(value);
  }
}

/** A missing label matches as the empty string, as in Prometheus and Loki. */
export function matchesLabels(matchers: readonly LabelMatcher[], labels: Labels): boolean {
  return matchers.every((m) => matchOne(m, labels[m.name] ?? ''));
}

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

function sanitizeKey(key: string): string {
  const k = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(k) ? `_${k}` : k;
}

/** Adds an extracted label; a name the stream already has gets `_extracted`, as Loki does. */
function addExtracted(out: Labels, stream: Labels, key: string, value: string): void {
  const name = sanitizeKey(key);
  if (name === '') return;
  out[Object.hasOwn(stream, name) ? `${name}_extracted` : name] = value;
}

function flattenJson(out: Labels, stream: Labels, prefix: string, obj: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix === '' ? k : `${prefix}_${k}`;
    if (v === null) addExtracted(out, stream, key, '');
    else if (Array.isArray(v))
      continue; // Loki's json parser skips arrays
    else if (typeof v === 'object') flattenJson(out, stream, key, v as Record<string, unknown>);
    else addExtracted(out, stream, key, String(v));
  }
}

export function numericValue(raw: string, unit: 'number' | 'duration' | 'bytes'): number | undefined {
  if (unit === 'duration') {
    const ns = parseDurationNs(raw);
    return ns === undefined ? undefined : Number(ns) / 1e9;
  }
  if (unit === 'bytes') return parseBytes(raw);
  if (raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isNaN(n) ? undefined : n;
}

/** true/false, or the labels gain __error__ (a numeric filter on a value that is not a number). */
export function labelFilterPasses(f: LabelFilterExpr, labels: Labels): boolean {
  switch (f.kind) {
    case 'and':
      return labelFilterPasses(f.left, labels) && labelFilterPasses(f.right, labels);
    case 'or':
      return labelFilterPasses(f.left, labels) || labelFilterPasses(f.right, labels);
    case 'match':
      return matchOne(f.matcher, labels[f.matcher.name] ?? '');
    case 'number': {
      if (labels[ERROR_LABEL] !== undefined) return true; // only string matchers filter errored lines
      const raw = labels[f.name];
      if (raw === undefined) return false;
      const v = numericValue(raw, f.unit);
      if (v === undefined) {
        labels[ERROR_LABEL] = 'LabelFilterErr';
        return true;
      }
      switch (f.op) {
        case '>':
          return v > f.value;
        case '>=':
          return v >= f.value;
        case '<':
          return v < f.value;
        case '<=':
          return v <= f.value;
        case '==':
          return v === f.value;
        case '!=':
          return v !== f.value;
      }
    }
  }
}

function templateFailed(labels: Labels, e: unknown): void {
  if (!(e instanceof TemplateError)) throw e;
  labels[ERROR_LABEL] = 'TemplateFormatErr';
  labels[ERROR_DETAILS_LABEL] = e.message;
}

/** The labels a line ends with (the stream's plus extracted ones); see runPipeline. */
export function processEntry(stages: readonly Stage[], line: string, stream: Labels): Labels | undefined {
  return runPipeline(stages, line, stream)?.labels;
}

/**
 * Runs a line through the pipeline: the labels it ends with and the line (which line_format may
 * have rewritten), or undefined when a filter drops it. `stream` is never modified.
 */
export function runPipeline(stages: readonly Stage[], line: string, stream: Labels): { labels: Labels; line: string } | undefined {
  let labels = stream;
  let copied = false;
  const own = (): Labels => {
    if (!copied) {
      // A for-in copy, not a spread: a spread object that then grows is several times slower in V8.
      labels = {};
      for (const k in stream) labels[k] = stream[k]!;
      copied = true;
    }
    return labels;
  };
  for (const s of stages) {
    switch (s.kind) {
      case 'line': {
        const hit = s.res ? s.res.some((re) => re.test(line)) : s.values.some((v) => line.includes(v));
        if ((s.op === '|=' || s.op === '|~') !== hit) return undefined;
        break;
      }
      case 'json': {
        let doc: unknown;
        try {
          doc = JSON.parse(line);
        } catch {
          doc = undefined;
        }
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) own()[ERROR_LABEL] = 'JSONParserErr';
        else flattenJson(own(), stream, '', doc as Record<string, unknown>);
        break;
      }
      case 'logfmt': {
        const pairs = parseLogfmt(line);
        if (!pairs) own()[ERROR_LABEL] = 'LogfmtParserErr';
        else for (const [k, v] of pairs) addExtracted(own(), stream, k, v);
        break;
      }
      case 'regexp':
        for (const [k, v] of runRegexp(s, line)) addExtracted(own(), stream, k, v);
        break;
      case 'pattern':
        for (const [k, v] of runPattern(s, line)) addExtracted(own(), stream, k, v);
        break;
      case 'lineFormat':
        try {
          line = renderTemplate(s.template, labels, line);
        } catch (e) {
          templateFailed(own(), e);
        }
        break;
      case 'labelFormat': {
        const l = own();
        // Templates all read the labels as they were before this stage, as Loki's do.
        const before = { ...l };
        for (const f of s.formats) {
          if ('src' in f) {
            const v = l[f.src];
            if (v === undefined) continue;
            delete l[f.src];
            l[f.dst] = v;
          } else {
            try {
              l[f.dst] = renderTemplate(f.template, before, line);
            } catch (e) {
              templateFailed(l, e);
            }
          }
        }
        break;
      }
      case 'labelFilter':
        if (!labelFilterPasses(s.filter, own())) return undefined;
        break;
      case 'drop':
      case 'keep': {
        const l = own();
        for (const [name, value] of Object.entries(l)) {
          const named = s.names.includes(name) || s.matchers.some((m) => m.name === name && matchOne(m, value));
          if (named === (s.kind === 'drop')) delete l[name];
        }
        break;
      }
    }
  }
  return { labels, line };
}
