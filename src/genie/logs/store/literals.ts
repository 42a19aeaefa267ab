// LogQL's literals: Go strings, Prometheus durations, humanized byte sizes and RE2-ish regular
// expressions, turned into JavaScript values. Shared by the parser and the pipeline.

/** A query the store cannot run; the HTTP shell answers 400 with the message, as Loki does. */
export class LogQLError extends Error {}

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

// RE2's ASCII classes, as JavaScript class contents.
const posixClasses: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

function refuse(source: string, what: string): never {
  throw new LogQLError(`parse error : invalid regular expression ${JSON.stringify(source)}: ${what}`);
}

/**
 * Rewrites RE2 syntax to JavaScript's: `(?P<name>` becomes `(?<name>`, `\A` and `\z` become
 * input-boundary assertions, `[[:alpha:]]` classes are spelled out, `\pL` gains braces (and the
 * `u` flag). Lookarounds and backreferences, which RE2 lacks, and `\Q...\E` are refused, so a
 * query this store accepts means the same as in Loki. Returns the source and the extra flags.
 */
export function re2ToJs(source: string): { source: string; unicode: boolean } {
  let out = '';
  let inClass = false;
  let unicode = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const e = source[i + 1];
      if (e === undefined) refuse(source, 'trailing backslash');
      i++;
      if (e === 'Q') refuse(source, '\\Q...\\E quoting is not supported by this log store; escape the characters instead');
      if (!inClass && e === 'A') out += '(?<![\\s\\S])';
      else if (!inClass && e === 'z') out += '(?![\\s\\S])';
      else if (/[1-9]/.test(e)) refuse(source, `backreference \\${e} (RE2 has none)`);
      else if ((e === 'p' || e === 'P') && source[i + 1] !== '{') {
        const cls = source[i + 1];
        if (cls === undefined) refuse(source, `incomplete \\${e}`);
        out += `\\${e}{${cls}}`;
        unicode = true;
        i++;
      } else {
        if (e === 'p' || e === 'P') unicode = true;
        out += `\\${e}`;
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && source[i + 1] === ':') {
        const end = source.indexOf(':]', i + 2);
        const name = end < 0 ? '' : source.slice(i + 2, end);
        const negated = name.startsWith('^');
        const cls = posixClasses[negated ? name.slice(1) : name];
        if (cls === undefined) refuse(source, `unknown character class [:${name}:]`);
        if (negated) refuse(source, `negated class [:${name}:] is not supported by this log store`);
        out += cls;
        i = end + 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` is a literal in RE2.
      if (source[i + 1] === '^') out += source[++i];
      if (source[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && source[i + 1] === '?') {
      const rest = source.slice(i + 2);
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^(=|!|<=|<!)/.test(rest)) refuse(source, 'lookaround assertions (RE2 has none)');
    }
    out += c;
  }
  return { source: out, unicode };
}

/** A regular expression in Loki's (RE2) syntax, compiled for JavaScript. */
export function compileRegex(source: string): RegExp {
  const { source: js, unicode } = re2ToJs(source);
  try {
    // Go's RE2 has (?i) flags inline; JavaScript does not: lift a leading (?i) into the flags.
    const m = /^(\^\(\?:)?\(\?([ims]+)\)/.exec(js);
    const flags = (m ? m[2]! : '') + (unicode ? 'u' : '');
    return m ? new RegExp((m[1] ?? '') + js.slice(m[0].length), flags) : new RegExp(js, flags);
  } catch (e) {
    throw new LogQLError(`parse error : invalid regular expression ${JSON.stringify(source)}: ${(e as Error).message}`);
  }
}
