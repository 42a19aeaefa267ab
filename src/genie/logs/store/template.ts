// The Go text/template subset that `| line_format` and `| label_format` take: literal text,
// `{{ .label }}` references, string and number literals, pipes, and the functions Loki users reach
// for. Compiled once at parse time; anything else (if/range/with, variables, other functions) is a
// LogQLError naming it, so a query never runs with a template this store would render wrongly.

import { LogQLError, unquote } from './literals.js';

type Operand = { kind: 'field'; name: string } | { kind: 'literal'; value: string | number } | { kind: 'func'; name: string };
/** One command of a pipeline: a function with its arguments, or a single operand. */
type Command = Operand[];
type Node = { kind: 'text'; text: string } | { kind: 'action'; commands: Command[] };

export interface Template {
  source: string;
  nodes: Node[];
}

/** A template that failed while running; the pipeline marks the entry with __error__. */
export class TemplateError extends Error {}

type Value = string | number;

const str = (name: string, v: Value): string => {
  if (typeof v !== 'string') throw new TemplateError(`${name}: wrong type for value; expected string; got int`);
  return v;
};
const int = (name: string, v: Value): number => {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new TemplateError(`${name}: wrong type for value; expected int; got ${typeof v}`);
  return v;
};

const functions: Record<string, { arity: number | 'variadic'; run: (args: Value[]) => Value }> = {
  ToUpper: { arity: 1, run: ([s]) => str('ToUpper', s!).toUpperCase() },
  ToLower: { arity: 1, run: ([s]) => str('ToLower', s!).toLowerCase() },
  upper: { arity: 1, run: ([s]) => str('upper', s!).toUpperCase() },
  lower: { arity: 1, run: ([s]) => str('lower', s!).toLowerCase() },
  trim: { arity: 1, run: ([s]) => str('trim', s!).trim() },
  TrimSpace: { arity: 1, run: ([s]) => str('TrimSpace', s!).trim() },
  trimPrefix: {
    arity: 2,
    run: ([p, s]) => (str('trimPrefix', s!).startsWith(str('trimPrefix', p!)) ? (s as string).slice((p as string).length) : s!),
  },
  trimSuffix: {
    arity: 2,
    run: ([x, s]) =>
      str('trimSuffix', s!).endsWith(str('trimSuffix', x!)) && x !== '' ? (s as string).slice(0, -(x as string).length) : s!,
  },
  replace: { arity: 3, run: ([o, n, s]) => str('replace', s!).split(str('replace', o!)).join(str('replace', n!)) },
  // Sprig's trunc: a negative count keeps the end of the string.
  trunc: {
    arity: 2,
    run: ([c, s]) => {
      const n = int('trunc', c!);
      const t = [...str('trunc', s!)];
      if (n < 0) return t.length + n > 0 ? t.slice(t.length + n).join('') : t.join('');
      return t.length > n ? t.slice(0, n).join('') : t.join('');
    },
  },
  // Sprig's default: the second value unless it is empty.
  default: { arity: 2, run: ([d, v]) => (v === '' || v === 0 ? d! : v!) },
  printf: { arity: 'variadic', run: ([f, ...args]) => printf(str('printf', f!), args) },
};

const unsupportedKeywords = new Set(['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue', 'nil']);

/** Go's fmt for the verbs a log line needs: %s %v %d %f %q %%, with - and 0 flags, width and precision. */
export function printf(format: string, args: readonly Value[]): string {
  let out = '';
  let next = 0;
  const re = /%([-0+ ]*)(\d*)(?:\.(\d+))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, width, prec, verb] = m as unknown as [string, string, string, string | undefined, string];
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (!'svdfq'.includes(verb)) {
      throw new LogQLError(`parse error : printf verb %${verb} is not supported by this log store (use %s, %v, %d, %f or %q)`);
    }
    if (next >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const v = args[next++]!;
    const typeName = typeof v === 'string' ? 'string' : Number.isInteger(v) ? 'int' : 'float64';
    let s: string;
    if (verb === 'v') s = String(v);
    else if (verb === 's')
      s = typeof v === 'string' ? (prec !== undefined ? [...v].slice(0, Number(prec)).join('') : v) : `%!s(${typeName}=${v})`;
    else if (verb === 'q') s = typeof v === 'string' ? JSON.stringify(v) : `%!q(${typeName}=${v})`;
    else if (verb === 'd') s = typeof v === 'number' && Number.isInteger(v) ? String(v) : `%!d(${typeName}=${v})`;
    else s = typeof v === 'number' ? v.toFixed(prec === undefined ? 6 : Number(prec)) : `%!f(${typeName}=${v})`;
    const w = width === '' ? 0 : Number(width);
    if (s.length < w) {
      if (flags.includes('-')) s = s.padEnd(w);
      else if (flags.includes('0') && typeof v === 'number')
        s = s.startsWith('-') ? `-${s.slice(1).padStart(w - 1, '0')}` : s.padStart(w, '0');
      else s = s.padStart(w);
    }
    out += s;
  }
  out += format.slice(last);
  if (next < args.length)
    out += `%!(EXTRA ${args
      .slice(next)
      .map((a) => `${typeof a === 'string' ? 'string' : 'int'}=${a}`)
      .join(', ')})`;
  return out;
}

function tokenize(action: string, source: string): string[] {
  const tokens: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||\(|\)|\$\w*|[^\s|()"`]+)/y;
  let i = 0;
  while (i < action.length) {
    re.lastIndex = i;
    const m = re.exec(action);
    if (!m) {
      if (action.slice(i).trim() === '') break;
      throw new LogQLError(`parse error : template ${JSON.stringify(source)}: cannot read ${JSON.stringify(action.slice(i))}`);
    }
    tokens.push(m[1]!);
    i = re.lastIndex;
  }
  return tokens;
}

function operand(tok: string, source: string): Operand {
  const fail = (what: string): never => {
    throw new LogQLError(`parse error : template ${JSON.stringify(source)}: ${what} is not supported by this log store`);
  };
  if (tok.startsWith('"') || tok.startsWith('`')) return { kind: 'literal', value: unquote(tok) };
  if (/^-?\d+(\.\d+)?$/.test(tok)) return { kind: 'literal', value: Number(tok) };
  if (/^\.[a-zA-Z_][a-zA-Z0-9_]*$/.test(tok)) return { kind: 'field', name: tok.slice(1) };
  if (tok === '(' || tok === ')') return fail('parenthesised template expressions');
  if (tok.startsWith('$')) return fail(`the template variable ${tok}`);
  if (tok.startsWith('.')) return fail(`the field reference ${tok}`);
  if (unsupportedKeywords.has(tok)) return fail(`the template action '${tok}'`);
  if (tok === '__line__') return { kind: 'func', name: tok };
  if (!Object.hasOwn(functions, tok)) {
    return fail(`the template function ${tok} (supported: ${Object.keys(functions).join(', ')}, __line__)`);
  }
  return { kind: 'func', name: tok };
}

/** Compiles a template; throws LogQLError naming the first construct it cannot run. */
export function compileTemplate(source: string): Template {
  const nodes: Node[] = [];
  let text = '';
  let i = 0;
  let trimNext = false;
  while (i < source.length) {
    const open = source.indexOf('{{', i);
    const chunk = open < 0 ? source.slice(i) : source.slice(i, open);
    text += trimNext ? chunk.trimStart() : chunk;
    trimNext = false;
    if (open < 0) break;
    const close = source.indexOf('}}', open + 2);
    if (close < 0) throw new LogQLError(`parse error : template ${JSON.stringify(source)}: unclosed action`);
    let body = source.slice(open + 2, close);
    if (/^-\s/.test(body)) {
      text = text.trimEnd();
      body = body.slice(1);
    }
    if (/\s-$/.test(body)) {
      trimNext = true;
      body = body.slice(0, -1);
    }
    i = close + 2;
    if (/^\s*\/\*[\s\S]*\*\/\s*$/.test(body)) continue; // a comment
    if (text !== '') nodes.push({ kind: 'text', text });
    text = '';
    const commands: Command[] = [[]];
    for (const tok of tokenize(body, source)) {
      if (tok === '|') commands.push([]);
      else commands[commands.length - 1]!.push(operand(tok, source));
    }
    for (const c of commands) {
      if (c.length === 0) throw new LogQLError(`parse error : template ${JSON.stringify(source)}: missing value for command`);
      const [head, fmt] = c;
      // Check printf's verbs now when the format is literal, so a bad one is a 400 up front.
      if (head?.kind === 'func' && head.name === 'printf' && fmt?.kind === 'literal' && typeof fmt.value === 'string')
        printf(fmt.value, []);
      if (c[0]!.kind !== 'func' && c.length > 1) {
        throw new LogQLError(`parse error : template ${JSON.stringify(source)}: can't give argument to non-function`);
      }
    }
    nodes.push({ kind: 'action', commands });
  }
  if (text !== '') nodes.push({ kind: 'text', text });
  return { source, nodes };
}

/** Renders against the labels; a missing label is the empty string (Loki's missingkey=zero). */
export function renderTemplate(t: Template, labels: Record<string, string>, line: string): string {
  let out = '';
  for (const n of t.nodes) {
    if (n.kind === 'text') {
      out += n.text;
      continue;
    }
    let piped: Value | undefined;
    for (const c of n.commands) {
      const value = (o: Operand): Value =>
        o.kind === 'field' ? (labels[o.name] ?? '') : o.kind === 'literal' ? o.value : call(o.name, []);
      const call = (name: string, args: Value[]): Value => {
        if (name === '__line__') {
          if (args.length > 0) throw new TemplateError('wrong number of args for __line__: want 0');
          return line;
        }
        const f = functions[name]!;
        if (f.arity !== 'variadic' && args.length !== f.arity) {
          throw new TemplateError(`wrong number of args for ${name}: want ${f.arity} got ${args.length}`);
        }
        if (f.arity === 'variadic' && args.length === 0) throw new TemplateError(`wrong number of args for ${name}: want at least 1 got 0`);
        return f.run(args);
      };
      const head = c[0]!;
      if (head.kind === 'func') {
        const args = c.slice(1).map(value);
        if (piped !== undefined) args.push(piped);
        piped = call(head.name, args);
      } else {
        if (piped !== undefined) throw new TemplateError("can't give argument to non-function");
        piped = value(head);
      }
    }
    out += String(piped);
  }
  return out;
}
