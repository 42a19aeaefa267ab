// LogQL, the subset this store answers, as an AST of our own types. The text is parsed by
// Grafana's published grammar (@grafana/lezer-logql); this file only walks its tree. Anything the
// grammar accepts that the evaluator does not implement is a LogQLError naming the construct, so
// a user learns what to change instead of getting a wrong answer.

import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';

/** A query the store cannot run; the HTTP shell answers 400 with the message, as Loki does. */
export class LogQLError extends Error {}

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  name: string;
  op: MatchOp;
  value: string;
  /** For =~ and !~: anchored at both ends, as Prometheus matchers are. */
  re?: RegExp;
}

export type LineFilterOp = '|=' | '!=' | '|~' | '!~';

export interface LineFilter {
  kind: 'line';
  op: LineFilterOp;
  /** `|= "a" or "b"`: any of them (all of them absent, for the negative forms). */
  values: string[];
  res?: RegExp[];
}

export type NumberOp = '>' | '>=' | '<' | '<=' | '==' | '!=';

export type LabelFilterExpr =
  | { kind: 'match'; matcher: LabelMatcher }
  /** `unit` says how the label's value is read: a plain number, a duration (seconds) or bytes. */
  | { kind: 'number'; name: string; op: NumberOp; value: number; unit: 'number' | 'duration' | 'bytes' }
  | { kind: 'and' | 'or'; left: LabelFilterExpr; right: LabelFilterExpr };

/** `drop a, b="c"` / `keep x, y=~"z"`: by name, or by name and value. */
export interface LabelSelection {
  kind: 'drop' | 'keep';
  names: string[];
  matchers: LabelMatcher[];
}

export type Stage = LineFilter | { kind: 'json' } | { kind: 'logfmt' } | { kind: 'labelFilter'; filter: LabelFilterExpr } | LabelSelection;

export interface LogQuery {
  kind: 'log';
  matchers: LabelMatcher[];
  stages: Stage[];
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^';

export type MetricQuery =
  | { kind: 'range'; op: 'count_over_time' | 'rate'; query: LogQuery; rangeNs: bigint; offsetNs: bigint }
  | { kind: 'sum'; grouping?: { without: boolean; labels: string[] }; inner: MetricQuery }
  | { kind: 'vector'; value: number }
  | { kind: 'number'; value: number }
  | { kind: 'binary'; op: BinaryOp; left: MetricQuery; right: MetricQuery };

export type Query = LogQuery | MetricQuery;

/** Query texts longer than this are refused before parsing (a bound on parser work). */
export const queryCharsMax = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Literals

/** A Go string literal: "..." with Go's escapes, or `raw`. */
export function unquote(text: string): string {
  if (text.length >= 2 && text[0] === '`' && text.endsWith('`')) return text.slice(1, -1);
  if (text.length < 2 || text[0] !== '"' || !text.endsWith('"')) throw new LogQLError(`parse error : invalid string literal ${text}`);
  const body = text.slice(1, -1);
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = body[++i];
    const simple: Record<string, string> = {
      a: '\x07',
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      v: '\v',
      '\\': '\\',
      '"': '"',
      "'": "'",
    };
    if (e !== undefined && simple[e] !== undefined) out += simple[e];
    else if (e === 'x' || e === 'u' || e === 'U') {
      const len = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + len);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw new LogQLError(`parse error : invalid escape \\${e}${hex} in ${text}`);
      out += e === 'x' ? String.fromCharCode(Number.parseInt(hex, 16)) : String.fromCodePoint(Number.parseInt(hex, 16));
      i += len;
    } else if (e !== undefined && /[0-7]/.test(e) && /^[0-7]{3}$/.test(body.slice(i, i + 3))) {
      out += String.fromCharCode(Number.parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else throw new LogQLError(`parse error : invalid char escape \\${e ?? ''} in ${text}`);
  }
  return out;
}

const durationUnitsNs: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
  w: 604800e9,
  y: 31536000e9,
};

/** Prometheus/Go durations: 1h30m, 5m, 1.5s, 100ms, 1d, 1w. Undefined when not one. */
export function parseDurationNs(text: string): bigint | undefined {
  const t = text.trim();
  if (t === '' || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w|y))+$/.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * durationUnitsNs[m[2]!]!;
  return BigInt(Math.round(total));
}

const byteUnits: Record<string, number> = {
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
  tb: 1e12,
  tib: 1024 ** 4,
  k: 1e3,
  m: 1e6,
  g: 1e9,
};

/** Humanized byte sizes (go-humanize's ParseBytes): 10KB, 1.5MiB, 42. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const mult = unit === '' ? 1 : byteUnits[unit];
  return mult === undefined ? undefined : Number(m[1]) * mult;
}

// ---------------------------------------------------------------------------------------------
// The tree walk

class Walker {
  constructor(private readonly text: string) {}

  src(n: SyntaxNode): string {
    return this.text.slice(n.from, n.to);
  }

  child(n: SyntaxNode, name: string): SyntaxNode {
    const c = n.getChild(name);
    if (!c) throw new LogQLError(`parse error : expected ${name} in ${JSON.stringify(this.src(n))}`);
    return c;
  }

  children(n: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = n.firstChild; c; c = c.nextSibling) out.push(c);
    return out;
  }

  unsupported(n: SyntaxNode, what?: string): never {
    throw new LogQLError(
      `unsupported LogQL: ${what ?? n.name} (${JSON.stringify(this.src(n).slice(0, 80))}) is not supported by this log store`,
    );
  }

  matcher(n: SyntaxNode): LabelMatcher {
    const [id, opNode, str] = this.children(n);
    if (!id || !opNode || !str) throw new LogQLError(`parse error : incomplete matcher ${this.src(n)}`);
    const op = this.src(opNode) as MatchOp;
    const value = unquote(this.src(str));
    const m: LabelMatcher = { name: this.src(id), op, value };
    if (op === '=~' || op === '!~') m.re = compileRegex(`^(?:${value})$`);
    return m;
  }

  /** Matchers is left-recursive: Matchers(Matchers(..), Matcher). */
  matchers(n: SyntaxNode, into: LabelMatcher[] = []): LabelMatcher[] {
    for (const c of this.children(n)) {
      if (c.name === 'Matchers') this.matchers(c, into);
      else if (c.name === 'Matcher') into.push(this.matcher(c));
    }
    return into;
  }

  selector(n: SyntaxNode): LabelMatcher[] {
    const ms = n.getChild('Matchers');
    const matchers = ms ? this.matchers(ms) : [];
    // Loki: "queries require at least one regexp or equality matcher that does not have an empty-compatible value"
    if (!matchers.some((m) => (m.op === '=' && m.value !== '') || (m.op === '=~' && m.re && !m.re.test('')))) {
      throw new LogQLError(
        'parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will',
      );
    }
    return matchers;
  }

  lineFilter(n: SyntaxNode): LineFilter {
    const filter = this.child(n, 'Filter');
    const op = this.src(filter) as LineFilterOp;
    if (n.getChild('FilterOp')) this.unsupported(n, 'the ip() line filter');
    const values: string[] = [];
    for (const c of this.children(n)) {
      if (c.name === 'String') values.push(unquote(this.src(c)));
      else if (c.name === 'OrFilter') this.orFilter(c, values);
    }
    const f: LineFilter = { kind: 'line', op, values };
    if (op === '|~' || op === '!~') f.res = values.map((v) => compileRegex(v));
    return f;
  }

  orFilter(n: SyntaxNode, into: string[]): void {
    for (const c of this.children(n)) {
      if (c.name === 'String') into.push(unquote(this.src(c)));
      else if (c.name === 'OrFilter') this.orFilter(c, into);
      else if (c.name === 'FilterOp') this.unsupported(c, 'the ip() line filter');
    }
  }

  lineFilters(n: SyntaxNode, into: Stage[]): void {
    for (const c of this.children(n)) {
      if (c.name === 'LineFilters') this.lineFilters(c, into);
      else if (c.name === 'LineFilter') into.push(this.lineFilter(c));
    }
  }

  labelFilter(n: SyntaxNode): LabelFilterExpr {
    const kids = this.children(n);
    const inner = kids.filter((c) => c.name === 'LabelFilter');
    if (inner.length === 2) {
      const join = kids.find((c) => c.name === 'And' || c.name === 'Or');
      // `a="1", b="2"` is an `and` too.
      return { kind: join?.name === 'Or' ? 'or' : 'and', left: this.labelFilter(inner[0]!), right: this.labelFilter(inner[1]!) };
    }
    if (inner.length === 1) return this.labelFilter(inner[0]!); // parenthesised
    const first = kids[0];
    if (!first) throw new LogQLError(`parse error : empty label filter`);
    if (first.name === 'Matcher') return { kind: 'match', matcher: this.matcher(first) };
    if (first.name === 'NumberFilter') {
      const [id, opNode, lit] = this.children(first);
      const value = Number(this.src(lit!).replace(/\s+/g, ''));
      if (!Number.isFinite(value)) throw new LogQLError(`parse error : invalid number in ${this.src(first)}`);
      const op = this.src(opNode!);
      return { kind: 'number', name: this.src(id!), op: (op === '=' ? '==' : op) as NumberOp, value, unit: 'number' };
    }
    if (first.name === 'UnitFilter') {
      const f = first.firstChild!;
      const [id, opNode, lit] = this.children(f);
      const op = this.src(opNode!);
      if (f.name === 'DurationFilter') {
        const ns = parseDurationNs(this.src(lit!));
        if (ns === undefined) throw new LogQLError(`parse error : invalid duration in ${this.src(f)}`);
        return { kind: 'number', name: this.src(id!), op: (op === '=' ? '==' : op) as NumberOp, value: Number(ns) / 1e9, unit: 'duration' };
      }
      const bytes = parseBytes(this.src(lit!));
      if (bytes === undefined) throw new LogQLError(`parse error : invalid byte size in ${this.src(f)}`);
      return { kind: 'number', name: this.src(id!), op: (op === '=' ? '==' : op) as NumberOp, value: bytes, unit: 'bytes' };
    }
    return this.unsupported(first, first.name === 'IpLabelFilter' ? 'the ip() label filter' : undefined);
  }

  pipeline(n: SyntaxNode, into: Stage[] = []): Stage[] {
    for (const c of this.children(n)) {
      if (c.name === 'PipelineExpr') this.pipeline(c, into);
      else if (c.name === 'PipelineStage') this.stage(c, into);
    }
    return into;
  }

  stage(n: SyntaxNode, into: Stage[]): void {
    for (const c of this.children(n)) {
      switch (c.name) {
        case 'Pipe':
          break;
        case 'LineFilters':
          this.lineFilters(c, into);
          break;
        case 'LabelParser':
          if (c.getChild('Json')) into.push({ kind: 'json' });
          else this.unsupported(c, `the ${c.firstChild ? this.src(c.firstChild) : this.src(c)} parser`);
          break;
        case 'LogfmtParser':
          if (c.getChild('LogfmtParserFlags')) this.unsupported(c, 'logfmt flags');
          into.push({ kind: 'logfmt' });
          break;
        case 'LabelFilter':
          into.push({ kind: 'labelFilter', filter: this.labelFilter(c) });
          break;
        case 'JsonExpressionParser':
          this.unsupported(c, 'json with label extraction expressions');
          break;
        case 'LineFormatExpr':
          this.unsupported(c, 'line_format');
          break;
        case 'LabelFormatExpr':
          this.unsupported(c, 'label_format');
          break;
        case 'DecolorizeExpr':
          this.unsupported(c, 'decolorize');
          break;
        case 'DropLabelsExpr':
        case 'KeepLabelsExpr':
          into.push(this.labelSelection(c));
          break;
        default:
          this.unsupported(c);
      }
    }
  }

  labelSelection(n: SyntaxNode): LabelSelection {
    const out: LabelSelection = { kind: n.name === 'DropLabelsExpr' ? 'drop' : 'keep', names: [], matchers: [] };
    const visit = (x: SyntaxNode): void => {
      for (const c of this.children(x)) {
        if (c.name === 'DropLabels' || c.name === 'KeepLabels') visit(c);
        else if (c.name === 'DropLabel' || c.name === 'KeepLabel') {
          const m = c.getChild('Matcher');
          if (m) out.matchers.push(this.matcher(m));
          else out.names.push(this.src(this.child(c, 'Identifier')));
        }
      }
    };
    visit(n);
    return out;
  }

  logExpr(n: SyntaxNode): LogQuery {
    // LogExpr may be parenthesised: LogExpr(LogExpr ...)
    const nested = n.getChild('LogExpr');
    if (nested) return this.logExpr(nested);
    const matchers = this.selector(this.child(n, 'Selector'));
    const p = n.getChild('PipelineExpr');
    return { kind: 'log', matchers, stages: p ? this.pipeline(p) : [] };
  }

  metric(n: SyntaxNode): MetricQuery {
    const kids = this.children(n);
    const first = kids[0];
    if (!first) throw new LogQLError('parse error : empty expression');
    switch (first.name) {
      case 'MetricExpr':
        return this.metric(first); // parenthesised
      case 'RangeAggregationExpr':
        return this.rangeAggregation(first);
      case 'VectorAggregationExpr':
        return this.vectorAggregation(first);
      case 'VectorExpr':
        return { kind: 'vector', value: Number(this.src(this.child(first, 'Number'))) };
      case 'LiteralExpr':
        return { kind: 'number', value: Number(this.src(first).replace(/\s+/g, '')) };
      case 'BinOpExpr':
        return this.binary(first);
      default:
        return this.unsupported(first, first.name === 'LabelReplaceExpr' ? 'label_replace' : undefined);
    }
  }

  /**
   * A chain of arithmetic. The published grammar nests `a * b + c` as `a * (b + c)`, so the chain
   * is flattened (parenthesised groups stay whole) and rebuilt with PromQL's precedence:
   * ^ (right-associative) over * / % over + -.
   */
  binary(n: SyntaxNode): MetricQuery {
    const operands: SyntaxNode[] = [];
    const ops: BinaryOp[] = [];
    this.flattenBinary(n, operands, ops);
    const side = (e: SyntaxNode): MetricQuery => {
      const m = e.getChild('MetricExpr');
      if (!m) return this.unsupported(e, 'a log query inside a binary operation');
      return this.metric(m);
    };
    const values = operands.map(side);
    const precedence = (op: BinaryOp): number => (op === '^' ? 3 : op === '+' || op === '-' ? 1 : 2);
    // Shunting-yard over the flat chain.
    const out: MetricQuery[] = [values[0]!];
    const pending: BinaryOp[] = [];
    const reduce = (): void => {
      const right = out.pop()!;
      const left = out.pop()!;
      out.push({ kind: 'binary', op: pending.pop()!, left, right });
    };
    ops.forEach((op, i) => {
      while (pending.length > 0) {
        const top = pending[pending.length - 1]!;
        const higher = precedence(top) > precedence(op) || (precedence(top) === precedence(op) && op !== '^');
        if (!higher) break;
        reduce();
      }
      pending.push(op);
      out.push(values[i + 1]!);
    });
    while (pending.length > 0) reduce();
    return out[0]!;
  }

  private flattenBinary(n: SyntaxNode, operands: SyntaxNode[], ops: BinaryOp[]): void {
    const kids = this.children(n);
    const opNode = kids.find((c) => ['Add', 'Sub', 'Mul', 'Div', 'Mod', 'Pow'].includes(c.name));
    const sides = kids.filter((c) => c.name === 'Expr');
    if (!opNode || sides.length !== 2) {
      const op = kids.find((c) => !['Expr', 'BinOpModifier'].includes(c.name));
      this.unsupported(n, `the binary operator ${op ? this.src(op) : this.src(n)}`);
    }
    const modifier = n.getChild('BinOpModifier');
    if (modifier && this.src(modifier).trim() !== '')
      this.unsupported(modifier, 'binary operator modifiers (bool, on, ignoring, group_left/right)');
    const visit = (e: SyntaxNode): void => {
      const inner = e.getChild('MetricExpr')?.firstChild;
      if (inner?.name === 'BinOpExpr') this.flattenBinary(inner, operands, ops);
      else operands.push(e);
    };
    visit(sides[0]!);
    ops.push(this.src(opNode) as BinaryOp);
    visit(sides[1]!);
  }

  rangeAggregation(n: SyntaxNode): MetricQuery {
    const opNode = this.child(n, 'RangeOp');
    const name = this.src(opNode);
    if (name !== 'count_over_time' && name !== 'rate') return this.unsupported(opNode, name);
    if (n.getChild('Grouping')) this.unsupported(n, `grouping on ${name}`);
    const r = this.child(n, 'LogRangeExpr');
    if (r.getChild('UnwrapExpr')) this.unsupported(r, 'unwrap');
    const range = parseDurationNs(this.src(this.child(this.child(r, 'Range'), 'Duration')));
    if (range === undefined || range <= 0n) throw new LogQLError(`parse error : invalid range in ${this.src(r)}`);
    const off = r.getChild('OffsetExpr');
    const offsetNs = off ? parseDurationNs(this.src(this.child(off, 'Duration'))) : 0n;
    if (offsetNs === undefined) throw new LogQLError(`parse error : invalid offset in ${this.src(off!)}`);
    // LogRangeExpr is either `{sel} |pipeline [range]` or `({sel} |pipeline)[range]`.
    const inner = r.getChild('LogExpr');
    let query: LogQuery;
    if (inner) query = this.logExpr(inner);
    else {
      const p = r.getChild('PipelineExpr');
      query = { kind: 'log', matchers: this.selector(this.child(r, 'Selector')), stages: p ? this.pipeline(p) : [] };
    }
    return { kind: 'range', op: name, query, rangeNs: range, offsetNs };
  }

  vectorAggregation(n: SyntaxNode): MetricQuery {
    const opNode = this.child(n, 'VectorOp');
    if (this.src(opNode) !== 'sum') return this.unsupported(opNode, this.src(opNode));
    const inner = this.child(n, 'MetricExpr');
    const g = n.getChild('Grouping');
    const out: MetricQuery = { kind: 'sum', inner: this.metric(inner) };
    if (g) {
      const labels: string[] = [];
      const collect = (x: SyntaxNode): void => {
        for (const c of this.children(x)) {
          if (c.name === 'Labels') collect(c);
          else if (c.name === 'Identifier') labels.push(this.src(c));
        }
      };
      const ls = g.getChild('Labels');
      if (ls) collect(ls);
      out.grouping = { without: g.getChild('Without') !== null, labels };
    }
    return out;
  }
}

export function compileRegex(source: string): RegExp {
  try {
    // Go's RE2 has (?i) flags inline; JavaScript does not: lift a leading (?i) into the flags.
    const m = /^(\^\(\?:)?\(\?([ims]+)\)/.exec(source);
    if (m) return new RegExp((m[1] ?? '') + source.slice(m[0].length), m[2]!);
    return new RegExp(source);
  } catch (e) {
    throw new LogQLError(`parse error : invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}

/** Parses a query text, or throws a LogQLError with Loki's `parse error at line L, col C` wording. */
export function parseLogQL(text: string): Query {
  if (text.length > queryCharsMax) throw new LogQLError(`parse error : query is longer than ${queryCharsMax} characters`);
  if (text.trim() === '') throw new LogQLError('parse error : syntax error: unexpected end of query');
  const tree = parser.parse(text);
  let errorAt = -1;
  tree.iterate({
    enter(n) {
      if (errorAt < 0 && n.type.isError) errorAt = n.from;
    },
  });
  if (errorAt >= 0) {
    const before = text.slice(0, errorAt);
    const line = before.split('\n').length;
    const col = errorAt - before.lastIndexOf('\n');
    const near = text.slice(errorAt, errorAt + 20);
    throw new LogQLError(
      `parse error at line ${line}, col ${col}: syntax error: unexpected ${near === '' ? 'end of query' : JSON.stringify(near)}`,
    );
  }
  const w = new Walker(text);
  const expr = tree.topNode.getChild('Expr');
  if (!expr) throw new LogQLError('parse error : syntax error: not an expression');
  const first = expr.firstChild;
  if (first?.name === 'LogExpr') return w.logExpr(first);
  if (first?.name === 'MetricExpr') return w.metric(first);
  throw new LogQLError('parse error : syntax error: not a log or metric query');
}
