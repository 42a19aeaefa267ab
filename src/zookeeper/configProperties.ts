// zoo.cfg's syntax, as java.util.Properties reads it, and the readers of its values: each
// bad value fails with the key and the line (or "system property" for a -D flag) in the message.

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface PropertyEntry {
  key: string;
  /** The value without leading and trailing whitespace. */
  value: string;
  line: number;
  /** The value as java.util.Properties gives it: trailing whitespace kept. */
  raw: string;
}

/** Java Properties syntax: `k=v`, `k: v`, `k v`, # and ! comments, backslash continuations. */
export function parseProperties(text: string): PropertyEntry[] {
  const out: PropertyEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    }
    const m = /^((?:\\.|[^=:\s])+)\s*[=:\s]\s*(.*)$/.exec(line) ?? /^((?:\\.|[^=:\s])+)$/.exec(line);
    if (!m) continue;
    const key = m[1]!.replace(/\\(.)/g, '$1');
    const raw = m[2] ?? '';
    out.push({ key, value: raw.replace(/\s+$/, ''), line: lineNo, raw });
  }
  return out;
}

export function where(e: PropertyEntry, file?: string): string {
  if (e.line === 0) return 'system property';
  return file ? `line ${e.line} of ${file}` : `line ${e.line}`;
}

export function toInt(e: PropertyEntry, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[+-]?\d+$/.test(e.value)) {
    throw new ConfigError(`${e.key} must be an integer, got "${e.value}" (${where(e)})`);
  }
  const n = Number(e.value);
  if (n < min || n > max) throw new ConfigError(`${e.key}=${e.value} is out of range [${min}, ${max}] (${where(e)})`);
  return n;
}

export function toBool(e: PropertyEntry): boolean {
  const v = e.value.toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  throw new ConfigError(`${e.key} must be true or false, got "${e.value}" (${where(e)})`);
}

/** QuorumPeerConfig.parseBoolean: true or false in any case, nothing else. */
export function toJavaBool(e: PropertyEntry): boolean {
  const v = e.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`Invalid option ${e.value} for ${e.key}. Choose 'true' or 'false.' (${where(e)})`);
}

export const INT_MIN = -2147483648;
export const INT_MAX = 2147483647;
