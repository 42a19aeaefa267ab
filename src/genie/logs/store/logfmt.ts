// A small logfmt reader (`key=value key2="quoted value" flag`), as go-logfmt reads lines for
// Loki's `| logfmt`: a bare key is an empty value, quoted values take Go escapes, a later key wins.

/** The pairs of a logfmt line; undefined when the line is not logfmt (Loki's LogfmtParserErr). */
export function parseLogfmt(line: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === ' ' || line[i] === '\t')) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && line[i] !== '=' && line[i] !== ' ' && line[i] !== '\t' && line[i] !== '"') i++;
    const key = line.slice(keyStart, i);
    if (key === '') return undefined; // `=value` or a stray quote
    if (line[i] !== '=') {
      out.set(key, '');
      continue;
    }
    i++; // '='
    if (line[i] === '"') {
      i++;
      // Fast path: no escapes before the closing quote, so the value is one slice.
      const close = line.indexOf('"', i);
      const slash = line.indexOf('\\', i);
      if (close >= 0 && (slash < 0 || slash > close)) {
        out.set(key, line.slice(i, close));
        i = close + 1;
        continue;
      }
      let value = '';
      let closed = false;
      while (i < n) {
        const c = line[i++]!;
        if (c === '"') {
          closed = true;
          break;
        }
        if (c === '\\' && i < n) {
          const e = line[i++]!;
          value += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
        } else value += c;
      }
      if (!closed) return undefined;
      out.set(key, value);
    } else {
      const valueStart = i;
      while (i < n && line[i] !== ' ' && line[i] !== '\t') i++;
      const value = line.slice(valueStart, i);
      if (value.includes('"') || value.includes('=')) return undefined;
      out.set(key, value);
    }
  }
  return out;
}
