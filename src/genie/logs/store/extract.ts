// The extracting parsers `| regexp "<re>"` and `| pattern "<expr>"`: compiled once at parse time,
// run per line by the pipeline. Loki's regexps are Go's RE2; JavaScript's engine takes most of RE2
// as written, and the rest is rewritten here or refused with a message naming the construct.

import { compileRegex, LogQLError, re2ToJs } from './literals.js';

const labelNamePattern = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface RegexpStage {
  kind: 'regexp';
  re: RegExp;
}

/** `| regexp "<re>"`: at least one named group, each a valid label name, as Loki requires. */
export function compileRegexpStage(source: string): RegexpStage {
  const re = compileRegex(source);
  const names = [...re2ToJs(source).source.matchAll(/\(\?<([^>=!]*)>/g)].map((m) => m[1]!);
  if (names.length === 0) throw new LogQLError('parse error : at least one named capture must be supplied');
  for (const n of names) if (!labelNamePattern.test(n)) throw new LogQLError(`parse error : invalid extracted label name '${n}'`);
  return { kind: 'regexp', re };
}

/** The named groups of the first match; a group that took no part is the empty string, as in Go. */
export function runRegexp(s: RegexpStage, line: string): [string, string][] {
  const m = s.re.exec(line);
  if (!m?.groups) return [];
  return Object.entries(m.groups).map(([k, v]) => [k, v ?? '']);
}

/** A pattern: alternating literals and captures; a capture's name is undefined for `<_>`. */
export type PatternPart = { literal: string } | { capture: string | undefined };

export interface PatternStage {
  kind: 'pattern';
  parts: PatternPart[];
}

/** `<name>` captures, `<_>` skips, anything else (including a `<` that starts no capture) is literal text. */
export function compilePattern(text: string): PatternStage {
  const parts: PatternPart[] = [];
  const names = new Set<string>();
  let literal = '';
  const re = /<(_|[a-zA-Z_][a-zA-Z0-9_]*)>/y;
  for (let i = 0; i < text.length; ) {
    re.lastIndex = i;
    const m = text[i] === '<' ? re.exec(text) : null;
    if (!m) {
      literal += text[i];
      i++;
      continue;
    }
    if (literal !== '') parts.push({ literal });
    else if (parts.length > 0) throw new LogQLError(`parse error : consecutive capture not allowed in pattern ${JSON.stringify(text)}`);
    literal = '';
    const name = m[1] === '_' ? undefined : m[1]!;
    if (name !== undefined) {
      if (names.has(name)) throw new LogQLError(`parse error : duplicate capture name (${name}) in pattern ${JSON.stringify(text)}`);
      names.add(name);
    }
    parts.push({ capture: name });
    i += m[0].length;
  }
  if (literal !== '') parts.push({ literal });
  if (names.size === 0) throw new LogQLError(`parse error : at least one capture is required in pattern ${JSON.stringify(text)}`);
  return { kind: 'pattern', parts };
}

/**
 * Loki's matching: a leading literal must start the line; each capture runs to the first
 * occurrence of the literal after it, the last to the end of the line. When a literal is missing
 * the capture before it takes the rest and matching stops, so a partial match still yields the
 * captures found so far.
 */
export function runPattern(s: PatternStage, line: string): [string, string][] {
  const out: [string, string][] = [];
  if (line === '') return out;
  let parts = s.parts;
  let rest = line;
  const head = parts[0]!;
  if ('literal' in head) {
    if (!rest.startsWith(head.literal)) return out;
    rest = rest.slice(head.literal.length);
    parts = parts.slice(1);
  }
  for (let i = 0; i < parts.length; i += 2) {
    const capture = (parts[i] as { capture: string | undefined }).capture;
    const next = parts[i + 1] as { literal: string } | undefined;
    const at = next ? rest.indexOf(next.literal) : -1;
    if (!next || at < 0) {
      if (capture !== undefined) out.push([capture, rest]);
      return out;
    }
    if (capture !== undefined) out.push([capture, rest.slice(0, at)]);
    rest = rest.slice(at + next.literal.length);
  }
  return out;
}
