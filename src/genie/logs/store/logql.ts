// LogQL, the subset this store answers, as an AST of our own types. The text is parsed by
// Grafana's published grammar (@grafana/lezer-logql); this file only walks its tree. Anything the
// grammar accepts that the evaluator does not implement is a LogQLError naming the construct, so
// a user learns what to change instead of getting a wrong answer.

import { parser } from '@grafana/lezer-logql';
import type { SyntaxNode } from '@lezer/common';

import { compilePattern, compileRegexpStage, type PatternStage, type RegexpStage } from './extract.js';
import { compileTemplate, type Template } from './template.js';
import { compileRegex, LogQLError, parseBytes, parseDurationNs, unquote } from './literals.js';

export { compileRegex, LogQLError, parseBytes, parseDurationNs, unquote };

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

export type Stage =
  | LineFilter
  | { kind: 'json' }
  | { kind: 'logfmt' }
  | RegexpStage
  | PatternStage
  | { kind: 'labelFilter'; filter: LabelFilterExpr }
  | { kind: 'lineFormat'; template: Template }
  | { kind: 'labelFormat'; formats: LabelFormat[] }
  | LabelSelection;

/** One `dst=src` rename or `dst="{{template}}"` of a label_format stage. */
export type LabelFormat = { dst: string; src: string } | { dst: string; template: Template };

export interface LogQuery {
  kind: 'log';
  matchers: LabelMatcher[];
  stages: Stage[];
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^';

export type RangeOp =
  | 'count_over_time'
  | 'rate'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'absent_over_time'
  | 'sum_over_time'
  | 'avg_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'first_over_time'
  | 'last_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time';

export type VectorOp = 'sum' | 'avg' | 'min' | 'max' | 'count' | 'stddev' | 'stdvar' | 'topk' | 'bottomk';

export interface Grouping {
  without: boolean;
  labels: string[];
}

/** `| unwrap [duration|duration_seconds|bytes](label)`, and the label filters after it. */
export interface Unwrap {
  label: string;
  unit: 'number' | 'duration' | 'bytes';
  post: LabelFilterExpr[];
}

export type MetricQuery =
  | {
      kind: 'range';
      op: RangeOp;
      query: LogQuery;
      rangeNs: bigint;
      offsetNs: bigint;
      unwrap?: Unwrap;
      /** φ of quantile_over_time. */
      param?: number;
      grouping?: Grouping;
    }
  | { kind: 'aggregate'; op: VectorOp; grouping?: Grouping; inner: MetricQuery /** k of topk/bottomk */; param?: number }
  | { kind: 'vector'; value: number }
  | { kind: 'number'; value: number }
  | { kind: 'binary'; op: BinaryOp; left: MetricQuery; right: MetricQuery };

export type Query = LogQuery | MetricQuery;

const logRangeOps = new Set(['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'absent_over_time']);
/** Range functions over unwrapped values that take by/without (Loki refuses grouping on the others). */
const groupableRangeOps = new Set([
  'avg_over_time',
  'min_over_time',
  'max_over_time',
  'first_over_time',
  'last_over_time',
  'stddev_over_time',
  'stdvar_over_time',
  'quantile_over_time',
]);
const unwrapRangeOps = new Set([...groupableRangeOps, 'rate', 'absent_over_time', 'sum_over_time']);
const rangeOps = new Set([...logRangeOps, ...unwrapRangeOps]);
const vectorOps = new Set(['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk']);
/** topk/bottomk keep at most this many series per group and step. */
export const topkMax = 1000;

/** Query texts longer than this are refused before parsing (a bound on parser work). */
export const queryCharsMax = 64 * 1024;

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
          else if (c.getChild('Regexp')) into.push(compileRegexpStage(unquote(this.src(this.child(c, 'String')))));
          else if (c.getChild('Pattern')) into.push(compilePattern(unquote(this.src(this.child(c, 'String')))));
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
          into.push({ kind: 'lineFormat', template: compileTemplate(unquote(this.src(this.child(c, 'String')))) });
          break;
        case 'LabelFormatExpr':
          into.push({ kind: 'labelFormat', formats: this.labelFormats(c) });
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

  labelFormats(n: SyntaxNode): LabelFormat[] {
    const out: LabelFormat[] = [];
    const visit = (x: SyntaxNode): void => {
      for (const c of this.children(x)) {
        if (c.name === 'LabelsFormat') visit(c);
        else if (c.name === 'LabelFormatMatcher') {
          const [dst, , value] = this.children(c);
          if (!dst || !value) throw new LogQLError(`parse error : incomplete label_format ${this.src(c)}`);
          const name = this.src(dst);
          if (out.some((f) => f.dst === name)) throw new LogQLError(`parse error : multiple label name '${name}' in a single label_format`);
          if (value.name === 'Identifier') out.push({ dst: name, src: this.src(value) });
          else out.push({ dst: name, template: compileTemplate(unquote(this.src(value))) });
        }
      }
    };
    visit(n);
    return out;
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
    if (!rangeOps.has(name)) return this.unsupported(opNode, name);
    const op = name as RangeOp;
    const g = n.getChild('Grouping');
    // Loki's validation: grouping only where the range aggregation is not additive.
    if (g && !groupableRangeOps.has(op)) throw new LogQLError(`parse error : grouping not allowed for ${op} aggregation`);
    const r = this.child(n, 'LogRangeExpr');
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
    const u = r.getChild('UnwrapExpr');
    const unwrap = u ? this.unwrap(u) : undefined;
    if (unwrap && !unwrapRangeOps.has(op)) throw new LogQLError(`parse error : invalid aggregation ${op} with unwrap`);
    if (!unwrap && !logRangeOps.has(op)) throw new LogQLError(`parse error : invalid aggregation ${op} without unwrap`);
    const out: MetricQuery = { kind: 'range', op, query, rangeNs: range, offsetNs };
    if (unwrap) out.unwrap = unwrap;
    if (g) out.grouping = this.grouping(g);
    if (op === 'quantile_over_time') out.param = Number(this.src(this.child(n, 'Number')));
    return out;
  }

  /** UnwrapExpr nests: UnwrapExpr(UnwrapExpr(| unwrap x), | filter), one level per post filter. */
  unwrap(n: SyntaxNode): Unwrap {
    const nested = n.getChild('UnwrapExpr');
    if (nested) {
      const u = this.unwrap(nested);
      u.post.push(this.labelFilter(this.child(n, 'LabelFilter')));
      return u;
    }
    const conv = n.getChild('ConvOp')?.firstChild?.name;
    const unit = conv === 'BytesConv' ? 'bytes' : conv === 'DurationConv' || conv === 'DurationSecondsConv' ? 'duration' : 'number';
    if (conv !== undefined && unit === 'number') this.unsupported(n, `the unwrap conversion ${this.src(n.getChild('ConvOp')!)}`);
    return { label: this.src(this.child(n, 'Identifier')), unit, post: [] };
  }

  grouping(g: SyntaxNode): Grouping {
    const labels: string[] = [];
    const collect = (x: SyntaxNode): void => {
      for (const c of this.children(x)) {
        if (c.name === 'Labels') collect(c);
        else if (c.name === 'Identifier') labels.push(this.src(c));
      }
    };
    const ls = g.getChild('Labels');
    if (ls) collect(ls);
    return { without: g.getChild('Without') !== null, labels };
  }

  vectorAggregation(n: SyntaxNode): MetricQuery {
    const opNode = this.child(n, 'VectorOp');
    const op = this.src(opNode);
    if (!vectorOps.has(op)) return this.unsupported(opNode, op);
    const out: MetricQuery = { kind: 'aggregate', op: op as VectorOp, inner: this.metric(this.child(n, 'MetricExpr')) };
    const g = n.getChild('Grouping');
    if (g) out.grouping = this.grouping(g);
    if (op === 'topk' || op === 'bottomk') {
      const k = Number(this.src(this.child(n, 'Number')));
      if (!Number.isInteger(k) || k <= 0)
        throw new LogQLError(`parse error : invalid parameter ${op}(${k}, ...): k must be a positive integer`);
      if (k > topkMax) throw new LogQLError(`parse error : ${op} k of ${k} is over this store's limit of ${topkMax}`);
      out.param = k;
    }
    return out;
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
