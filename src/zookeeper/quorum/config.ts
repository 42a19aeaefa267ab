// The ensemble as zoo.cfg (or a dynamic config file) describes it, parsed by Apache ZooKeeper
// 3.8's rules: QuorumPeer.QuorumServer for one `server.N` value, QuorumMaj(Properties) for a set
// of them, and QuorumMaj.toString() for how the `conf` command and /zookeeper/config print it.
// src/zookeeper/config.ts reads zoo.cfg and uses these; errors here are QuorumConfigError with a
// plain message, which the caller turns into a ConfigError naming the key and line.

export type LearnerRole = 'participant' | 'observer';

/** One quorum address of a member (several only with multiAddress, separated by `|`). */
export interface QuorumAddress {
  host: string;
  quorumPort: number;
  electionPort: number;
}

export interface QuorumMember {
  /** The N of server.N (a Java long in Apache; any safe integer here, 0 and negatives included). */
  id: number;
  /** First address as written (host as Java prints it: IPv6 literals in full form, without brackets). */
  host: string;
  quorumPort: number;
  electionPort: number;
  /** Every address of a multiAddress line, in the order written; addresses[0] is host/quorumPort/electionPort. */
  addresses: QuorumAddress[];
  role: LearnerRole;
  /** The client address from `;[clientAddr:]clientPort` (0.0.0.0 when only a port is given). */
  clientAddress?: string;
  clientPort?: number;
  /**
   * Apache's isClientAddrFromStatic: this server's own line had no client part, so the client
   * address was filled in from clientPort/clientPortAddress. It is then not printed by `conf`.
   */
  clientFromStatic: boolean;
}

/** A membership and its version: what QuorumMaj holds (the `version` is hex in files). */
export interface QuorumVerifierConfig {
  /** In Apache's iteration order (QuorumMaj's HashMap): id order while all ids are below 16. */
  members: QuorumMember[];
  version: number;
}

export interface EnsembleConfig extends QuorumVerifierConfig {
  /** This server's id (the myid file). */
  myId: number;
  /** This server's role; taken from its server.N line (peerType only warns when it differs). */
  peerType: LearnerRole;
  /** Ticks a follower may take to connect and sync to the leader. */
  initLimit: number;
  /** Ticks a follower may lag behind the leader. */
  syncLimit: number;
  /** Ticks to connect to the leader; 0 = use initLimit (connectToLearnerMasterLimit). */
  connectToLearnerMasterLimit: number;
  /** Always 3 (fast leader election); other values are refused as in Apache 3.8. */
  electionAlg: number;
  standaloneEnabled: boolean;
  quorumListenOnAllIPs: boolean;
  /** Election connection timeout (zookeeper.cnxTimeout), ms. */
  cnxTimeoutMs: number;
  /** multiAddress.enabled as read by QuorumPeerConfig (runtime switch; default false). */
  multiAddressEnabled: boolean;
  /** The dynamic config file the membership came from, if any (absolute path). */
  dynamicConfigFile?: string;
  /** The zoo.cfg this was read from, if read from a file: reconfig writes its dynamic files beside it. */
  configPath?: string;
  /** `<zoo.cfg>.dynamic.next`: a proposed configuration not yet committed (Apache's lastSeenQuorumVerifier). */
  lastSeen?: QuorumVerifierConfig;
}

export class QuorumConfigError extends Error {
  override name = 'QuorumConfigError';
}

// ------------------------------------------------------------------------------ quorum math

export function votingMembers(qv: QuorumVerifierConfig): QuorumMember[] {
  return qv.members.filter((m) => m.role === 'participant');
}

export function observingMembers(qv: QuorumVerifierConfig): QuorumMember[] {
  return qv.members.filter((m) => m.role === 'observer');
}

export function findMember(qv: QuorumVerifierConfig, id: number): QuorumMember | undefined {
  return qv.members.find((m) => m.id === id);
}

/** Votes needed for a quorum: a strict majority of the participants (QuorumMaj: half + 1). */
export function quorumSize(qv: QuorumVerifierConfig): number {
  return Math.floor(votingMembers(qv).length / 2) + 1;
}

/**
 * QuorumMaj.containsQuorum: more than half of the participants. Ids that are not participants
 * (observers, strangers) do not count; Apache's callers filter them out the same way before asking.
 */
export function isQuorum(qv: QuorumVerifierConfig, ids: Iterable<number>): boolean {
  const voters = new Set(votingMembers(qv).map((m) => m.id));
  const acks = new Set<number>();
  for (const id of ids) if (voters.has(id)) acks.add(id);
  return acks.size > Math.floor(voters.size / 2);
}

// ------------------------------------------------------------------------------ Java helpers

const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/** Long.parseLong(s, radix) for radix 10 or 16: optional sign, ASCII digits, signed 64-bit range. */
export function javaParseLong(s: string, radix: 10 | 16 = 10): bigint | undefined {
  const re = radix === 10 ? /^[+-]?[0-9]+$/ : /^[+-]?[0-9a-fA-F]+$/;
  if (!re.test(s)) return undefined;
  const neg = s.startsWith('-');
  const digits = s.replace(/^[+-]/, '');
  const v = BigInt((radix === 16 ? '0x' : '') + digits) * (neg ? -1n : 1n);
  return v < LONG_MIN || v > LONG_MAX ? undefined : v;
}

/** Integer.parseInt: optional sign, ASCII digits, signed 32-bit range. */
export function javaParseInt(s: string): number | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return n < -2147483648 || n > 2147483647 ? undefined : n;
}

/** String.split with a literal separator: trailing empty strings are dropped (unless nothing matched). */
function javaSplit(s: string, sep: string): string[] {
  const parts = s.split(sep);
  if (parts.length === 1) return parts;
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** ConfigUtils.getHostAndPort: `host:port[:...]`, or `[ipv6]:port[:...]`. */
function getHostAndPort(s: string): string[] {
  if (s.startsWith('[')) {
    const i = s.indexOf(']');
    if (i < 0) throw new QuorumConfigError(`${s} starts with '[' but has no matching ']:'`);
    if (i + 2 === s.length) throw new QuorumConfigError(`${s} doesn't have a port after colon`);
    if (i + 2 < s.length) return [s.slice(1, i), ...javaSplit(s.slice(i + 2), ':')];
    return [s.replace(/[[\]]/g, '')];
  }
  return javaSplit(s, ':');
}

function parseIPv4(s: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const b = m.slice(1).map(Number);
  return b.every((x) => x <= 255) ? b : undefined;
}

/** Eight 16-bit groups of an IPv6 literal (with an optional embedded IPv4 tail), or undefined. */
function parseIPv6(s: string): number[] | undefined {
  if (!s.includes(':') || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (!v4) return undefined;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith('::')) text = text.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const g = h.split(':');
    if (g.some((x) => !/^[0-9a-fA-F]{1,4}$/.test(x))) return undefined;
    return g.map((x) => parseInt(x, 16));
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const want = 8 - tail.length;
  let groups: number[];
  if (halves.length === 2) {
    const fill = want - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    if (head.length !== want) return undefined;
    groups = head;
  }
  return [...groups, ...tail];
}

/**
 * The host string Java's InetSocketAddress.getHostString() gives for a configured host: names as
 * written, IPv4 literals as dotted quads, IPv6 literals in Java's full form (0:0:0:0:0:0:0:1),
 * IPv4-mapped IPv6 as IPv4, scoped IPv6 as written, and "" as localhost (getByName("") is the loopback).
 */
export function javaHostString(host: string): string {
  if (host === '') return 'localhost';
  const v4 = parseIPv4(host);
  if (v4) return v4.join('.');
  // A scoped literal (fe80::1%eth0) depends on the interfaces of the machine in Java; kept as written.
  if (host.includes('%')) return host;
  const v6 = parseIPv6(host);
  if (!v6) return host;
  if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) {
    return [v6[6]! >> 8, v6[6]! & 0xff, v6[7]! >> 8, v6[7]! & 0xff].join('.');
  }
  return v6.map((g) => g.toString(16)).join(':');
}

/** isAnyLocalAddress: 0.0.0.0 or the IPv6 unspecified address. */
export function isWildcardHost(host: string): boolean {
  const h = javaHostString(host);
  return h === '0.0.0.0' || h === '0:0:0:0:0:0:0:0';
}

/** QuorumServer.delimitedHostString: IPv6 hosts in brackets. */
function delimited(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

// ------------------------------------------------------------------------------ server.N values

const WRONG_FORMAT =
  ' does not have the form server_config or server_config;client_config where server_config is the pipe separated' +
  ' list of host:port:port or host:port:port:type and client_config is port or host:port';

function parsePort(host: string, text: string): number {
  const n = javaParseInt(text);
  if (n === undefined) {
    // Java's message; a common cause is trailing whitespace, which Properties keeps in values.
    const hint = /\s$/.test(text) ? ' (trailing whitespace: Apache ZooKeeper refuses it too)' : '';
    throw new QuorumConfigError(`Address unresolved: ${host}:${text}${hint}`);
  }
  if (n < 0 || n > 65535) throw new QuorumConfigError(`port out of range:${n}`);
  return n;
}

function parseRole(s: string): LearnerRole {
  const v = s.trim().toLowerCase();
  if (v === 'observer' || v === 'participant') return v;
  throw new QuorumConfigError(`Unrecognised peertype: ${s}`);
}

export interface ServerLineOptions {
  /** zookeeper.multiAddress.enabled as a system property: the only switch QuorumServer reads. */
  multiAddressEnabled: boolean;
}

/**
 * One `server.N` value, as QuorumServer(sid, addressStr) parses it:
 * `host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`, hosts may be
 * `[ipv6]`, and with multiAddress several server parts separated by `|`. The value is taken as
 * Properties gives it (Apache does not trim it: a trailing space after a port is an error).
 */
export function parseServerLine(id: number, value: string, opts: ServerLineOptions): QuorumMember {
  const serverClientParts = javaSplit(value, ';');
  if (serverClientParts.length === 0) throw new QuorumConfigError(value + WRONG_FORMAT);
  const serverAddresses = javaSplit(serverClientParts[0]!, '|');
  let clientAddress: string | undefined;
  let clientPort: number | undefined;
  if (serverClientParts.length === 2) {
    const clientParts = getHostAndPort(serverClientParts[1]!);
    if (clientParts.length > 2) throw new QuorumConfigError(value + WRONG_FORMAT);
    const clientHost = clientParts.length === 2 ? clientParts[0]! : '0.0.0.0';
    clientPort = parsePort('null', clientParts[clientParts.length - 1]!);
    clientAddress = javaHostString(clientHost);
  }
  if (!opts.multiAddressEnabled && serverAddresses.length > 1) {
    throw new QuorumConfigError(`Multiple address feature is disabled, but multiple addresses were specified for sid ${id}`);
  }
  const addresses: QuorumAddress[] = [];
  let role: LearnerRole | undefined;
  for (const serverAddress of serverAddresses) {
    const parts = getHostAndPort(serverAddress);
    if (serverClientParts.length > 2 || parts.length < 3 || parts.length > 4) {
      throw new QuorumConfigError(value + WRONG_FORMAT);
    }
    const host = parts[0]!;
    const quorumPort = parsePort(host, parts[1]!);
    const electionPort = parsePort(host, parts[2]!);
    if (quorumPort === electionPort) {
      throw new QuorumConfigError(`Client and election port must be different! Please update the configuration file on server.${id}`);
    }
    if (parts.length === 4) {
      const r = parseRole(parts[3]!);
      if (role !== undefined && role !== r) {
        throw new QuorumConfigError(`Multiple addresses should have similar roles: ${role} vs ${r}`);
      }
      role = r;
    }
    addresses.push({ host: javaHostString(host), quorumPort, electionPort });
  }
  const first = addresses[0]!;
  const m: QuorumMember = {
    id,
    host: first.host,
    quorumPort: first.quorumPort,
    electionPort: first.electionPort,
    addresses,
    role: role ?? 'participant',
    clientFromStatic: false,
  };
  if (clientPort !== undefined) {
    m.clientAddress = clientAddress!;
    m.clientPort = clientPort;
  }
  return m;
}

/** QuorumServer.toString(): the value part of a `server.N=` line as Apache prints it. */
export function formatServerLine(m: QuorumMember): string {
  let out = '';
  if (m.addresses.length > 0) {
    // Apache sorts the quorum and the election addresses (separately) by host string.
    const byHost = (a: QuorumAddress, b: QuorumAddress): number => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0);
    const q = [...m.addresses].sort(byHost);
    const e = [...m.addresses].sort(byHost);
    out = q.map((a, i) => `${delimited(a.host)}:${a.quorumPort}:${e[i]!.electionPort}`).join('|');
  }
  out += `:${m.role}`;
  if (m.clientPort !== undefined && m.clientAddress !== undefined && !m.clientFromStatic) {
    out += `;${delimited(m.clientAddress)}:${m.clientPort}`;
  }
  return out;
}

/**
 * QuorumMaj.toString(): `server.N=...` lines in the given order, then `version=<hex>` with no
 * newline after it. The `conf` command prints this after "membership: \n"; /zookeeper/config holds it.
 */
export function renderMembership(qv: QuorumVerifierConfig): string {
  let out = '';
  for (const m of qv.members) out += `server.${m.id}=${formatServerLine(m)}\n`;
  return `${out}version=${formatVersion(qv.version)}`;
}

/** Long.toHexString. */
export function formatVersion(v: number): string {
  return BigInt.asUintN(64, BigInt(v)).toString(16);
}

/** The lines QuorumZooKeeperServer.dumpConf adds to `conf` after the standalone part. */
export function renderQuorumConf(e: EnsembleConfig, current: QuorumVerifierConfig = e): string {
  const me = findMember(current, e.myId) ?? findMember(e, e.myId);
  const ports = (f: (a: QuorumAddress) => number): string => (me ? me.addresses.map(f).join('|') : '');
  return (
    `initLimit=${e.initLimit}\n` +
    `syncLimit=${e.syncLimit}\n` +
    `electionAlg=${e.electionAlg}\n` +
    `electionPort=${ports((a) => a.electionPort)}\n` +
    `quorumPort=${ports((a) => a.quorumPort)}\n` +
    `peerType=${e.peerType === 'participant' ? 0 : 1}\n` +
    'membership: \n' +
    renderMembership(current)
  );
}

// ------------------------------------------------------------------------------ Java map order

/** String.hashCode. */
function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Iteration order of a java.util.Properties (a ConcurrentHashMap(8) since Java 9) after putting
 * `keys` in this order: bins by spread(hashCode), table doubling at 3/4 load with ConcurrentHashMap's
 * split (which reverses the nodes before the last run). Tree bins (8+ keys in one bin) are not modelled.
 */
export function javaPropertiesOrder(keys: Iterable<string>): string[] {
  const hash = new Map<string, number>();
  let n = 16;
  let table: string[][] = Array.from({ length: n }, () => []);
  let count = 0;
  for (const k of keys) {
    if (hash.has(k)) continue;
    const h = (javaStringHash(k) ^ (javaStringHash(k) >>> 16)) & 0x7fffffff;
    hash.set(k, h);
    table[h & (n - 1)]!.push(k);
    count++;
    while (count >= n - (n >>> 2)) {
      const next: string[][] = Array.from({ length: 2 * n }, () => []);
      for (let i = 0; i < n; i++) {
        const bin = table[i]!;
        if (bin.length === 0) continue;
        const bit = (key: string): number => hash.get(key)! & n;
        let runBit = bit(bin[0]!);
        let lastRun = 0;
        for (let j = 1; j < bin.length; j++) {
          const b = bit(bin[j]!);
          if (b !== runBit) {
            runBit = b;
            lastRun = j;
          }
        }
        let lo: string[] = runBit === 0 ? bin.slice(lastRun) : [];
        let hi: string[] = runBit === 0 ? [] : bin.slice(lastRun);
        for (let j = 0; j < lastRun; j++) {
          if (bit(bin[j]!) === 0) lo = [bin[j]!, ...lo];
          else hi = [bin[j]!, ...hi];
        }
        next[i] = lo;
        next[i + n] = hi;
      }
      table = next;
      n *= 2;
    }
  }
  return table.flat();
}

/** HashMap<Long, ...>: the bucket a long key hashes to (Long.hashCode, then HashMap.hash). */
function longBucketHash(id: number): number {
  const v = BigInt.asUintN(64, BigInt(id));
  const h = Number(BigInt.asIntN(32, v ^ (v >> 32n)));
  return h ^ (h >>> 16);
}

/**
 * Iteration order of a java.util.HashMap<Long, ...> (default capacity, load 0.75) after putting
 * `ids` in this order: QuorumMaj's allMembers, and so the order of `conf` and /zookeeper/config.
 */
export function javaLongHashMapOrder(ids: Iterable<number>): number[] {
  let cap = 16;
  let table: number[][] = Array.from({ length: cap }, () => []);
  let size = 0;
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    table[longBucketHash(id) & (cap - 1)]!.push(id);
    if (++size > cap * 0.75) {
      const next: number[][] = Array.from({ length: cap * 2 }, () => []);
      for (let i = 0; i < cap; i++) {
        for (const x of table[i]!) next[(longBucketHash(x) & cap) === 0 ? i : i + cap]!.push(x);
      }
      table = next;
      cap *= 2;
    }
  }
  return table.flat();
}

/**
 * Orders members as Apache's QuorumMaj built from a Properties holding `propertyKeys` (all keys of
 * the file, in file order) iterates them.
 */
export function apacheMemberOrder(members: QuorumMember[], keyOf: Map<number, string>, propertyKeys: string[]): QuorumMember[] {
  const byKey = new Map<string, QuorumMember>();
  for (const m of members) byKey.set(keyOf.get(m.id) ?? `server.${m.id}`, m);
  const inserted = javaPropertiesOrder(propertyKeys)
    .map((k) => byKey.get(k))
    .filter((m): m is QuorumMember => m !== undefined);
  for (const m of members) if (!inserted.includes(m)) inserted.push(m);
  const byId = new Map(inserted.map((m) => [m.id, m]));
  return javaLongHashMapOrder(inserted.map((m) => m.id)).map((id) => byId.get(id)!);
}

// ------------------------------------------------------------------------------ membership text

export interface PropEntry {
  key: string;
  value: string;
  line: number;
  /** The value with trailing whitespace kept (Java Properties keeps it). */
  raw?: string;
}

/** Where a parse problem is: the entry and the file it came from (for messages). */
export class MembershipEntryError extends QuorumConfigError {
  constructor(
    message: string,
    readonly entry: PropEntry,
  ) {
    super(message);
  }
}

/**
 * QuorumMaj(Properties): every `server.*` key becomes a member, `version` (hex) the version;
 * other keys are ignored. `group*`/`weight*` keys (hierarchical quorums) must be refused by the caller.
 * Members come back in Apache's iteration order, which depends on every key of the Properties
 * the membership was read from (`propertyKeys`, in file order; default: the keys of `entries`).
 * Two spellings of one id (server.1, server.01)
 * are refused: Apache keeps whichever its hash order visits last.
 */
export function parseMembership(
  entries: PropEntry[],
  opts: ServerLineOptions,
  propertyKeys: string[] = entries.map((e) => e.key),
): QuorumVerifierConfig & { duplicates: string[] } {
  const last = new Map<string, PropEntry>();
  const duplicates: string[] = [];
  for (const e of entries) {
    if (last.has(e.key) && (e.key.startsWith('server.') || e.key === 'version')) duplicates.push(e.key);
    last.set(e.key, e);
  }
  const members: QuorumMember[] = [];
  const keyOf = new Map<number, string>();
  let version = 0;
  for (const e of last.values()) {
    if (e.key.startsWith('server.')) {
      const idText = e.key.slice('server.'.length);
      const sid = javaParseLong(idText);
      if (sid === undefined) throw new MembershipEntryError(`server id "${idText}" is not a number (For input string: "${idText}")`, e);
      if (sid > BigInt(Number.MAX_SAFE_INTEGER) || sid < BigInt(-Number.MAX_SAFE_INTEGER)) {
        throw new MembershipEntryError(`server id ${sid} is too large for this implementation`, e);
      }
      const id = Number(sid);
      const prev = keyOf.get(id);
      if (prev !== undefined) {
        throw new MembershipEntryError(`${prev} and ${e.key} both define server ${id}`, e);
      }
      try {
        members.push(parseServerLine(id, e.raw ?? e.value, opts));
      } catch (err) {
        if (err instanceof QuorumConfigError) throw new MembershipEntryError(err.message, e);
        throw err;
      }
      keyOf.set(id, e.key);
    } else if (e.key === 'version') {
      const v = javaParseLong(e.value, 16);
      if (v === undefined)
        throw new MembershipEntryError(`version must be a hex number, got "${e.value}" (For input string: "${e.value}" under radix 16)`, e);
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER)) {
        throw new MembershipEntryError(`version ${e.value} is too large for this implementation`, e);
      }
      version = Number(v);
    }
  }
  const ordered = apacheMemberOrder(members, keyOf, propertyKeys);
  return { members: ordered, version, duplicates };
}

/**
 * QuorumPeerConfig.getVersionFromFilename: the hex number after the last '.' of the path
 * (zoo.cfg.dynamic.100000000 -> 0x100000000), or undefined (then the version is 0). A negative
 * suffix is refused, as Apache's round trip through Long.toHexString/parseLong refuses it.
 */
export function versionFromFilename(path: string): number | undefined {
  const i = path.lastIndexOf('.');
  if (i < 0) return undefined;
  const v = javaParseLong(path.slice(i + 1), 16);
  if (v === undefined) return undefined;
  if (v < 0n)
    throw new QuorumConfigError(
      `the version suffix of ${path} is negative (For input string: "${BigInt.asUintN(64, v).toString(16)}" under radix 16)`,
    );
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new QuorumConfigError(`the version suffix of ${path} is too large for this implementation`);
  return Number(v);
}
