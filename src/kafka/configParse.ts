// The syntax layer under server.properties parsing (config.ts): java.util.Properties text, the
// KAFKA_* environment form, typed value readers that fail naming key and place, and the
// listener, protocol-map and zookeeper.connect formats.

import type { ListenerConfig, SecurityProtocol, ZkConnectConfig, ZkServerAddress } from './config.js';

export class KafkaConfigError extends Error {
  override name = 'KafkaConfigError';
}

const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

export interface Entry {
  key: string;
  value: string;
  /** 'line 12' or 'environment variable KAFKA_LOG_DIRS'. */
  where: string;
}

// ------------------------------------------------------------------ Java properties syntax

const isWs = (c: string): boolean => c === ' ' || c === '\t' || c === '\f';

function unescapeJava(s: string, line: number): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === undefined) break; // a lone trailing backslash is dropped, as Properties does
    if (n === 'u') {
      const hex = s.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new KafkaConfigError(`Malformed \\uxxxx encoding (line ${line})`);
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else if (n === 't') out += '\t';
    else if (n === 'n') out += '\n';
    else if (n === 'r') out += '\r';
    else if (n === 'f') out += '\f';
    else out += n;
  }
  return out;
}

/** Whether a raw line ends in an odd number of backslashes (a continuation). */
function continues(line: string): boolean {
  let n = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

/**
 * java.util.Properties.load: `k=v`, `k: v`, `k v`; # and ! comments; a trailing odd backslash
 * joins the next line (its leading blanks dropped); \t \n \r \f \uXXXX and \<char> escapes.
 * The value's surrounding blanks are dropped too, as Kafka's ConfigDef trims values.
 */
export function parseJavaProperties(text: string): { key: string; value: string; line: number }[] {
  const out: { key: string; value: string; line: number }[] = [];
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let s = lines[i]!;
    let p = 0;
    while (p < s.length && isWs(s[p]!)) p++;
    s = s.slice(p);
    if (s === '' || s[0] === '#' || s[0] === '!') continue;
    while (continues(s)) {
      s = s.slice(0, -1);
      if (i + 1 >= lines.length) break;
      const next = lines[++i]!;
      let q = 0;
      while (q < next.length && isWs(next[q]!)) q++;
      s += next.slice(q);
    }
    // Key: up to the first unescaped '=', ':' or blank.
    let k = 0;
    while (k < s.length) {
      const c = s[k]!;
      if (c === '\\') {
        k += 2;
        continue;
      }
      if (c === '=' || c === ':' || isWs(c)) break;
      k++;
    }
    const rawKey = s.slice(0, Math.min(k, s.length));
    let v = k;
    while (v < s.length && isWs(s[v]!)) v++;
    if (v < s.length && (s[v] === '=' || s[v] === ':')) v++;
    while (v < s.length && isWs(s[v]!)) v++;
    out.push({ key: unescapeJava(rawKey, lineNo), value: unescapeJava(s.slice(v), lineNo).trim(), line: lineNo });
  }
  return out;
}

// ------------------------------------------------------------------ environment form

/** KAFKA_* variables that configure the launcher or logging, not the broker (Apache/Confluent images). */
const NON_CONFIG_ENV = new Set([
  'KAFKA_VERSION',
  'KAFKA_HOME',
  'KAFKA_HEAP_OPTS',
  'KAFKA_OPTS',
  'KAFKA_JMX_OPTS',
  'KAFKA_JMX_PORT',
  'KAFKA_JMX_HOSTNAME',
  'KAFKA_JVM_PERFORMANCE_OPTS',
  'KAFKA_GC_LOG_OPTS',
  'KAFKA_LOG4J_OPTS',
  'KAFKA_LOG4J_ROOT_LOGLEVEL',
  'KAFKA_LOG4J_LOGGERS',
  'KAFKA_TOOLS_LOG4J_LOGLEVEL',
  'KAFKA_DEBUG',
  'KAFKA_CLUSTER_ID',
]);

/**
 * The key a KAFKA_* variable sets, or undefined when it is not a broker key. As the Apache Kafka
 * image does: `_` -> `.`, `__` -> `_`, `___` -> `-`, lower-cased; Bitnami's KAFKA_CFG_ prefix too.
 * (Confluent's cp-kafka image swaps the two: `__` -> `-`, `___` -> `_`.)
 */
export function envVarToKey(name: string): string | undefined {
  if (!name.startsWith('KAFKA_') || NON_CONFIG_ENV.has(name)) return undefined;
  let rest = name.slice('KAFKA_'.length);
  if (rest.startsWith('CFG_')) rest = rest.slice('CFG_'.length);
  if (rest === '') return undefined;
  return rest.toLowerCase().replace(/___|__|_/g, (m) => (m === '___' ? '-' : m === '__' ? '_' : '.'));
}

// ------------------------------------------------------------------ value parsing

const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function fail(e: Entry, expected: string): never {
  throw new KafkaConfigError(`Invalid value "${e.value}" for configuration ${e.key} (${e.where}): ${expected}`);
}

export class Values {
  readonly used = new Set<string>();
  constructor(private readonly entries: Map<string, Entry>) {}

  entry(key: string): Entry | undefined {
    this.used.add(key);
    return this.entries.get(key);
  }

  /** Java's parseInt/parseLong syntax; longs beyond 2^53 lose digits (they only occur as "never"). */
  private num(key: string, min: bigint, max: bigint, what: string, atLeast?: number): number | undefined {
    const e = this.entry(key);
    if (!e) return undefined;
    if (!/^[+-]?\d+$/.test(e.value)) fail(e, `expected ${what}`);
    const big = BigInt(e.value);
    if (big < min || big > max) fail(e, `expected ${what}, in [${min}, ${max}]`);
    if (atLeast !== undefined && big < BigInt(atLeast)) fail(e, `value must be at least ${atLeast}`);
    return Number(big);
  }

  int(key: string, def: number, atLeast?: number): number {
    return this.num(key, BigInt(INT32_MIN), BigInt(INT32_MAX), 'an integer (int32)', atLeast) ?? def;
  }
  optInt(key: string, atLeast?: number): number | undefined {
    return this.num(key, BigInt(INT32_MIN), BigInt(INT32_MAX), 'an integer (int32)', atLeast);
  }
  short(key: string, def: number, atLeast?: number): number {
    return this.num(key, -32768n, 32767n, 'an integer (int16)', atLeast) ?? def;
  }
  long(key: string, def: number, atLeast?: number): number {
    return this.num(key, INT64_MIN, INT64_MAX, 'a long', atLeast) ?? def;
  }
  optLong(key: string, atLeast?: number): number | undefined {
    return this.num(key, INT64_MIN, INT64_MAX, 'a long', atLeast);
  }
  bool(key: string, def: boolean): boolean {
    const e = this.entry(key);
    if (!e) return def;
    const v = e.value.toLowerCase();
    if (v === 'true') return true;
    if (v === 'false') return false;
    fail(e, 'expected true or false');
  }
  str(key: string): string | undefined {
    return this.entry(key)?.value;
  }
  oneOf<T extends string>(key: string, def: T, allowed: readonly T[], caseInsensitive = false): T {
    const e = this.entry(key);
    if (!e) return def;
    const hit = allowed.find((a) => (caseInsensitive ? a.toLowerCase() === e.value.toLowerCase() : a === e.value));
    if (hit === undefined) fail(e, `expected one of ${allowed.join(', ')}`);
    return hit;
  }
}

/** Csv.parseCsvList: comma separated, blanks around commas dropped, empty items dropped. */
export function csv(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// ------------------------------------------------------------------ listeners and zookeeper.connect

export function parseProtocolMap(e: Entry | undefined, text: string): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>();
  for (const item of csv(text)) {
    const m = /^([^:]+):(.+)$/.exec(item);
    if (!m) {
      if (e) fail(e, `expected LISTENER_NAME:PROTOCOL pairs separated by commas, got "${item}"`);
      throw new KafkaConfigError(`bad listener.security.protocol.map item ${item}`);
    }
    const proto = m[2]!.trim().toUpperCase() as SecurityProtocol;
    if (!SECURITY_PROTOCOLS.includes(proto)) {
      if (e) fail(e, `invalid security protocol ${m[2]} (one of ${SECURITY_PROTOCOLS.join(', ')})`);
    }
    map.set(m[1]!.trim().toUpperCase(), proto);
  }
  return map;
}

const LISTENER_RE = /^(.*):\/\/\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$/;

export function parseListeners(
  e: Entry | undefined,
  key: string,
  text: string,
  protocols: Map<string, SecurityProtocol>,
): ListenerConfig[] {
  const bad = (msg: string): never => {
    if (e) fail(e, msg);
    throw new KafkaConfigError(`${key}: ${msg}`);
  };
  const out: ListenerConfig[] = [];
  for (const item of csv(text)) {
    const m = LISTENER_RE.exec(item);
    if (!m) bad(`expected NAME://host:port items separated by commas, got "${item}"`);
    const name = m![1]!.toUpperCase();
    const port = Number(m![3]);
    if (port < 0 || port > 65535) bad(`port ${port} of listener ${name} is out of range [0, 65535]`);
    const proto = protocols.get(name);
    if (proto === undefined) {
      bad(`no security protocol defined for listener ${name} (add it to listener.security.protocol.map)`);
    }
    if (proto !== 'PLAINTEXT') {
      bad(`listener ${name} uses security protocol ${proto}; only PLAINTEXT is supported (SASL and TLS are not implemented yet)`);
    }
    if (out.some((l) => l.name === name)) bad(`each listener must have a different name (${name} is repeated)`);
    out.push({ name, securityProtocol: 'PLAINTEXT', host: m![2]!, port });
  }
  return out;
}

/** `host[:port][,host[:port]...][/chroot]`, as ZooKeeper's ConnectStringParser reads it (port 2181 by default). */
export function parseZkConnect(connectString: string): ZkConnectConfig {
  const slash = connectString.indexOf('/');
  let hosts = connectString;
  let chroot = '';
  if (slash >= 0) {
    chroot = connectString.slice(slash);
    hosts = connectString.slice(0, slash);
    if (chroot === '/') chroot = '';
    if (chroot !== '' && (chroot.endsWith('/') || chroot.includes('//') || /\/\.\.?(\/|$)/.test(chroot))) {
      throw new Error(`invalid chroot path ${chroot}`);
    }
  }
  const servers: ZkServerAddress[] = [];
  for (const part of hosts.split(',')) {
    const h = part.trim();
    if (h === '') continue;
    let host = h;
    let port = 2181;
    const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(h);
    if (v6) {
      host = v6[1]!;
      if (v6[2] !== undefined) port = Number(v6[2]);
    } else {
      const colon = h.lastIndexOf(':');
      if (colon >= 0) {
        host = h.slice(0, colon);
        const p = h.slice(colon + 1);
        if (!/^\d+$/.test(p)) throw new Error(`bad port "${p}" in ${h}`);
        port = Number(p);
      }
    }
    if (host === '' || port < 1 || port > 65535) throw new Error(`bad server address ${h}`);
    servers.push({ host, port });
  }
  if (servers.length === 0) throw new Error('no ZooKeeper server given');
  return { connectString, servers, chroot };
}
