// zoo.cfg parsing, as QuorumPeerConfig reads it: Java properties syntax, the same keys and
// defaults. Unsupported keys warn once each; bad values fail fast naming the key and line.
// The ensemble part (server.N lines, myid, dynamicConfigFile, initLimit/syncLimit, peerType...)
// follows Apache ZooKeeper 3.8's QuorumPeerConfig rule by rule; the server.N syntax, the quorum
// math and the `conf` rendering live in quorum/config.ts.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, dirname } from 'node:path';
import { defaultServerOptions, type ServerOptions } from './server/options.js';
import {
  METRICS_HTTP_HOST_DEFAULT,
  METRICS_HTTP_PORT_DEFAULT,
  METRICS_PROVIDERS,
  PROMETHEUS_PROVIDER,
  type MetricsProviderOptions,
  type ObservabilityOptions,
} from './server/metricsOptions.js';
import {
  MembershipEntryError,
  QuorumConfigError,
  findMember,
  isWildcardHost,
  javaHostString,
  javaParseLong,
  observingMembers,
  parseMembership,
  versionFromFilename,
  votingMembers,
  type EnsembleConfig,
  type LearnerRole,
  type QuorumVerifierConfig,
} from './quorum/config.js';
import { SecureClientSettingsBuilder, TlsSettingError } from './server/tls/settings.js';
import { applySaslSetting, finishSaslOptions, newSaslSettings, SaslConfigError } from './server/sasl/saslAuth.js';
import { JaasError } from './server/sasl/jaas.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ParsedConfig {
  /** With the metrics provider and fsync warning settings (metricsOptions.ts) when zoo.cfg sets them. */
  options: ServerOptions & ObservabilityOptions;
  warnings: string[];
  /** The server.N values as written (zoo.cfg or the dynamic config file), by id. */
  servers: Map<number, string>;
}

interface Entry {
  key: string;
  /** The value without leading and trailing whitespace. */
  value: string;
  line: number;
  /** The value as java.util.Properties gives it: trailing whitespace kept. */
  raw: string;
}

/** Java Properties syntax: `k=v`, `k: v`, `k v`, # and ! comments, backslash continuations. */
export function parseProperties(text: string): Entry[] {
  const out: Entry[] = [];
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

/** Keys Apache ZooKeeper accepts that have no effect here yet. */
const ACCEPTED_IGNORED = new Set([
  'syncEnabled',
  'snapSizeLimitInKb',
  'globalOutstandingLimit',
  'maxCnxns',
  'clientPortListenBacklog',
  'leaderServes',
  'digest.enabled',
  'sslQuorum',
  'portUnification',
  'multiAddress.reachabilityCheckEnabled',
  'multiAddress.reachabilityCheckTimeoutMs',
  'flushDelay',
  'maxBatchSize',
  'audit.enable',
]);

function where(e: Entry, file?: string): string {
  if (e.line === 0) return 'system property';
  return file ? `line ${e.line} of ${file}` : `line ${e.line}`;
}

function toInt(e: Entry, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[+-]?\d+$/.test(e.value)) {
    throw new ConfigError(`${e.key} must be an integer, got "${e.value}" (${where(e)})`);
  }
  const n = Number(e.value);
  if (n < min || n > max) throw new ConfigError(`${e.key}=${e.value} is out of range [${min}, ${max}] (${where(e)})`);
  return n;
}

function toBool(e: Entry): boolean {
  const v = e.value.toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  throw new ConfigError(`${e.key} must be true or false, got "${e.value}" (${where(e)})`);
}

/** QuorumPeerConfig.parseBoolean: true or false in any case, nothing else. */
function toJavaBool(e: Entry): boolean {
  const v = e.value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ConfigError(`Invalid option ${e.value} for ${e.key}. Choose 'true' or 'false.' (${where(e)})`);
}

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/**
 * Keys only QuorumPeerConfig reads, from the zoo.cfg Properties: as -D system properties or with
 * a `zookeeper.` prefix they have no effect in Apache ZooKeeper, so they have none here either.
 */
const QUORUM_PEER_CONFIG_KEYS = new Set([
  'initLimit',
  'syncLimit',
  'connectToLearnerMasterLimit',
  'electionAlg',
  'peerType',
  'standaloneEnabled',
  'quorumListenOnAllIPs',
  'dynamicConfigFile',
  'multiAddress.enabled',
  'localSessionsEnabled',
  'localSessionsUpgradingEnabled',
]);

const HIERARCHICAL = 'hierarchical quorums (group.N / weight.N) are not supported; use majority quorums (server.N lines only)';

/** QuorumPeerConfig settings of the ensemble, before the membership is known. */
interface QuorumSettings {
  initLimit: number;
  syncLimit: number;
  connectToLearnerMasterLimit: number;
  electionAlg: number;
  peerType: LearnerRole;
  peerTypeSet: boolean;
  standaloneEnabled: boolean;
  quorumListenOnAllIPs: boolean;
  cnxTimeoutMs: number;
  /** multiAddress.enabled in zoo.cfg (QuorumPeerConfig's field). */
  multiAddressKey: boolean | undefined;
  /** zookeeper.multiAddress.enabled as a system property: what QuorumServer reads for `|` lines. */
  multiAddressSysProp: boolean;
  dynamicConfigFile: string | undefined;
}

/** Reads the myid file as QuorumPeerConfig.setupMyId does: the first line, a Java long; -1 means unset. */
function readMyId(dataDir: string): number | undefined {
  const file = join(dataDir, 'myid');
  let isFile = false;
  try {
    isFile = statSync(file).isFile();
  } catch {
    return undefined; // standalone servers need no myid file
  }
  if (!isFile) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  const first = text === '' ? 'null' : text.split(/\r\n|\r|\n/)[0]!;
  const id = javaParseLong(first);
  if (id === undefined) throw new ConfigError(`serverid ${first} is not a number (${file} must hold the server id on its first line)`);
  if (id > BigInt(Number.MAX_SAFE_INTEGER) || id < BigInt(-Number.MAX_SAFE_INTEGER)) {
    throw new ConfigError(`serverid ${first} in ${file} is too large for this implementation`);
  }
  return id === -1n ? undefined : Number(id);
}

function loadDynamicFile(path: string): { entries: Entry[]; version: number | undefined } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`Error processing ${path}: ${(e as Error).message}`);
  }
  const entries = parseProperties(text);
  const v = entries.find((e) => e.key === 'version');
  if (v)
    throw new ConfigError(
      `dynamic file shouldn't have version inside (line ${v.line} of ${path}; its version is the file name's hex suffix)`,
    );
  let version: number | undefined;
  try {
    version = versionFromFilename(path);
  } catch (e) {
    if (e instanceof QuorumConfigError) throw new ConfigError(`Error processing ${path}: ${e.message}`);
    throw e;
  }
  for (const e of entries) {
    if (e.key.startsWith('group') || e.key.startsWith('weight'))
      throw new ConfigError(`${e.key}: ${HIERARCHICAL} (line ${e.line} of ${path})`);
    if (!e.key.startsWith('server.'))
      throw new ConfigError(
        `Unrecognised parameter: ${e.key} (line ${e.line} of ${path}; a dynamic config file holds only server.N lines)`,
      );
  }
  return { entries, version };
}

function membershipOf(
  entries: Entry[],
  q: QuorumSettings,
  file: string | undefined,
  propertyKeys: string[] = entries.map((e) => e.key),
): QuorumVerifierConfig & { duplicates: string[] } {
  try {
    return parseMembership(entries, { multiAddressEnabled: q.multiAddressSysProp }, propertyKeys);
  } catch (err) {
    if (err instanceof MembershipEntryError) {
      const what = err.message.includes(err.entry.value) ? err.entry.key : `${err.entry.key}=${err.entry.value}`;
      let msg = `${what}: ${err.message} (${where(err.entry as Entry, file)})`;
      if (/Multiple address feature is disabled/.test(err.message) && q.multiAddressKey) {
        msg +=
          '; in Apache ZooKeeper 3.8 the zoo.cfg key multiAddress.enabled does not enable it for server.N lines, the system property zookeeper.multiAddress.enabled=true does';
      }
      throw new ConfigError(msg);
    }
    if (err instanceof QuorumConfigError) throw new ConfigError(err.message);
    throw err;
  }
}

/**
 * Parses zoo.cfg text. `baseDir` resolves relative dataDir (and dynamicConfigFile) paths;
 * `sysProps` are -D style properties (zookeeper.* names) applied after the file, like java -D
 * flags; `configPath` (given by loadZooCfg) locates `<zoo.cfg>.dynamic.next`.
 *
 * The ensemble part follows QuorumPeerConfig.parse of Apache ZooKeeper 3.8: server.N lines (in
 * zoo.cfg, or in the dynamicConfigFile), myid, the client port from this server's line, peerType,
 * the initLimit/syncLimit checks; `options.ensemble` is set when Apache would run a quorum peer
 * (isDistributed) and left undefined for standalone.
 */
export function parseZooCfg(text: string, baseDir: string, sysProps: Record<string, string> = {}, configPath?: string): ParsedConfig {
  const fileEntries = parseProperties(text);
  const entries = [...fileEntries];
  for (const [k, v] of Object.entries(sysProps)) entries.push({ key: k, value: v.trim(), line: 0, raw: v });
  const warnings: string[] = [];
  const servers = new Map<number, string>();
  const o: Partial<ServerOptions> = {};
  let minSet = false;
  let maxSet = false;
  let tick = 3000;
  let clientPortAddressEntry: Entry | undefined;
  const metrics: Partial<MetricsProviderOptions> = {};
  let metricsKeySeen = false;
  let fsyncWarningThresholdMs: number | undefined;
  const tls = new SecureClientSettingsBuilder();
  const sasl = newSaslSettings();
  let saslKeySeen = false;
  const q: QuorumSettings = {
    initLimit: 0,
    syncLimit: 0,
    connectToLearnerMasterLimit: 0,
    electionAlg: 3,
    peerType: 'participant',
    peerTypeSet: false,
    standaloneEnabled: true,
    quorumListenOnAllIPs: false,
    cnxTimeoutMs: 5000,
    multiAddressKey: undefined,
    multiAddressSysProp: false,
    dynamicConfigFile: undefined,
  };
  // Membership keys as QuorumMaj reads them from the zoo.cfg Properties (static configuration).
  const memberEntries: Entry[] = [];
  const dynamicMode = fileEntries.some((e) => e.key === 'dynamicConfigFile');
  let staticVersion: Entry | undefined;
  for (const e of entries) {
    const fromFile = e.line > 0;
    if (fromFile && (e.key.startsWith('server.') || e.key.startsWith('group') || e.key.startsWith('weight'))) {
      if (dynamicMode) throw new ConfigError(`parameter: ${e.key} must be in a separate dynamic config file (line ${e.line})`);
      if (!e.key.startsWith('server.')) throw new ConfigError(`${e.key}: ${HIERARCHICAL} (line ${e.line})`);
      memberEntries.push(e);
      continue;
    }
    if (fromFile && e.key === 'version') {
      if (dynamicMode)
        warnings.push(`version is ignored with dynamicConfigFile: the version comes from the dynamic file's name (line ${e.line})`);
      else staticVersion = e;
      continue;
    }
    // Unknown zoo.cfg keys become `zookeeper.<key>` system properties in Java; accept both.
    const key = e.key.startsWith('zookeeper.') ? e.key.slice('zookeeper.'.length) : e.key;
    if (QUORUM_PEER_CONFIG_KEYS.has(key) && (!fromFile || key !== e.key)) {
      if (e.key === 'zookeeper.multiAddress.enabled') {
        // The system property QuorumServer reads (Boolean.parseBoolean: anything but "true" is false).
        q.multiAddressSysProp = e.value.toLowerCase() === 'true';
      } else {
        warnings.push(`${e.key} has no effect (${where(e)}): Apache ZooKeeper reads ${key} only as a zoo.cfg key`);
      }
      continue;
    }
    // SASL (server/sasl/saslAuth.ts): the JAAS file is a JVM property, not a zoo.cfg key.
    if (fromFile && e.key === 'java.security.auth.login.config') {
      warnings.push(`${e.key} has no effect in zoo.cfg (line ${e.line}): pass -Djava.security.auth.login.config=<file> (SERVER_JVMFLAGS)`);
      continue;
    }
    if (applySaslSetting(sasl, key, e.key, e.value, baseDir)) {
      saslKeySeen = true;
      continue;
    }
    switch (key) {
      case 'tickTime':
        tick = toInt(e, 1);
        o.tickTimeMs = tick;
        break;
      case 'dataDir':
        o.dataDir = isAbsolute(e.value) ? e.value : resolve(baseDir, e.value);
        break;
      case 'dataLogDir':
        o.dataLogDir = isAbsolute(e.value) ? e.value : resolve(baseDir, e.value);
        break;
      case 'clientPort':
        o.clientPort = toInt(e, 0, 65535);
        break;
      case 'clientPortAddress':
        o.clientPortAddress = e.value;
        clientPortAddressEntry = e;
        break;
      case 'maxClientCnxns':
        o.maxClientCnxns = toInt(e, 0);
        break;
      case 'minSessionTimeout':
        o.minSessionTimeoutMs = toInt(e, -1);
        minSet = o.minSessionTimeoutMs !== -1;
        break;
      case 'maxSessionTimeout':
        o.maxSessionTimeoutMs = toInt(e, -1);
        maxSet = o.maxSessionTimeoutMs !== -1;
        break;
      case '4lw.commands.whitelist':
        o.fourLetterWords = new Set(
          e.value
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        );
        break;
      case 'admin.enableServer':
        o.adminEnabled = toBool(e);
        break;
      case 'admin.serverPort':
        o.adminPort = toInt(e, 0, 65535);
        break;
      case 'admin.serverAddress':
        o.adminAddress = e.value;
        break;
      case 'extendedTypesEnabled':
        o.extendedTypesEnabled = toBool(e);
        break;
      case 'superDigest':
      case 'DigestAuthenticationProvider.superDigest':
        if (!/^[^:]+:.+$/.test(e.value)) throw new ConfigError(`${e.key} must look like super:<base64 sha1> (${where(e)})`);
        o.superDigest = e.value;
        break;
      case 'enforceQuota':
        // Boolean.parseBoolean, as ZooKeeperServer reads zookeeper.enforceQuota: only "true" enables.
        o.enforceQuota = e.value.toLowerCase() === 'true';
        if (!o.enforceQuota && e.value.toLowerCase() !== 'false') {
          warnings.push(`${e.key}=${e.value} is read as false: only "true" enables quota enforcement (${where(e)})`);
        }
        break;
      case 'skipACL':
        o.skipAcl = e.value === 'yes' || e.value === 'true';
        break;
      case 'jute.maxbuffer':
      case 'maxbuffer':
        o.frameBytesMax = toInt(e, 1024, 0x7fffffff);
        break;
      case 'reconfigEnabled':
        o.reconfigEnabled = toJavaBool(e);
        break;
      case 'readonlymode.enabled':
        // Boolean.getBoolean: "true" in any case turns it on, anything else leaves it off. Apache
        // reads only the -D property; the zoo.cfg key is accepted here too (docs/COMPATIBILITY.md).
        if (e.key === key) o.readOnlyModeEnabled = e.value.toLowerCase() === 'true';
        else warnings.push(`${e.key} has no effect (${where(e)}): read-only mode is -Dreadonlymode.enabled=true`);
        break;
      case 'localSessionsEnabled':
        o.localSessionsEnabled = toJavaBool(e);
        break;
      case 'localSessionsUpgradingEnabled':
        o.localSessionsUpgradingEnabled = toJavaBool(e);
        break;
      case 'forceSync':
        o.forceSync = toBool(e);
        break;
      case 'snapCount':
        o.snapCount = toInt(e, 2);
        break;
      case 'preAllocSize':
        o.preAllocBytes = toInt(e, 1, 2 ** 31) * 1024;
        break;
      case 'autopurge.snapRetainCount': {
        const n = toInt(e, 1);
        if (n < 3) warnings.push(`${e.key}=${n} is below the minimum; 3 snapshots are kept (line ${e.line})`);
        o.snapRetainCount = Math.max(3, n);
        break;
      }
      case 'autopurge.purgeInterval':
        o.purgeIntervalHours = toInt(e, 0);
        break;
      case 'znode.container.checkIntervalMs':
        o.containerCheckIntervalMs = toInt(e, 1);
        break;
      case 'znode.container.maxPerMinute':
        o.containerMaxPerMinute = toInt(e, 1);
        break;
      case 'znode.container.maxNeverUsedIntervalMs':
        o.containerMaxNeverUsedIntervalMs = toInt(e, 0);
        break;
      // -------------------------------------------- metrics provider (PrometheusMetricsProvider)
      case 'metricsProvider.className':
        // Apache stops on a class it cannot load; a provider we do not have is ignored with a warning.
        if (!(METRICS_PROVIDERS as readonly string[]).includes(e.value)) {
          warnings.push(
            `${e.key} names an unknown metrics provider "${e.value}" and is ignored (${where(e)}); supported: ${METRICS_PROVIDERS.join(', ')}`,
          );
          break;
        }
        metrics.className = e.value as MetricsProviderOptions['className'];
        metricsKeySeen = true;
        break;
      case 'metricsProvider.httpPort':
        metrics.httpPort = toInt(e, 0, 65535);
        metricsKeySeen = true;
        break;
      case 'metricsProvider.httpHost':
        if (e.value === '') throw new ConfigError(`${e.key} must not be empty (${where(e)})`);
        metrics.httpHost = e.value;
        metricsKeySeen = true;
        break;
      case 'metricsProvider.exportJvmInfo':
        metrics.exportJvmInfo = toJavaBool(e);
        metricsKeySeen = true;
        break;
      case 'fsync.warningthresholdms':
        fsyncWarningThresholdMs = toInt(e, 0);
        break;
      // ------------------------------------------------------------ ensemble (QuorumPeerConfig)
      case 'initLimit':
        q.initLimit = toInt(e, INT_MIN, INT_MAX);
        break;
      case 'syncLimit':
        q.syncLimit = toInt(e, INT_MIN, INT_MAX);
        break;
      case 'connectToLearnerMasterLimit':
        q.connectToLearnerMasterLimit = toInt(e, INT_MIN, INT_MAX);
        break;
      case 'electionAlg':
        q.electionAlg = toInt(e, INT_MIN, INT_MAX);
        if (q.electionAlg !== 3) {
          throw new ConfigError(
            `Invalid electionAlg value. Only 3 is supported. (electionAlg=${e.value}, ${where(e)}; 3 is fast leader election)`,
          );
        }
        break;
      case 'peerType': {
        const v = e.value.toLowerCase();
        if (v !== 'observer' && v !== 'participant') throw new ConfigError(`Unrecognised peertype: ${e.value} (peerType, ${where(e)})`);
        q.peerType = v;
        q.peerTypeSet = true;
        break;
      }
      case 'standaloneEnabled':
        q.standaloneEnabled = toJavaBool(e);
        break;
      case 'quorumListenOnAllIPs':
        q.quorumListenOnAllIPs = toJavaBool(e);
        break;
      case 'multiAddress.enabled':
        q.multiAddressKey = toJavaBool(e);
        break;
      case 'dynamicConfigFile':
        q.dynamicConfigFile = isAbsolute(e.value) ? e.value : resolve(baseDir, e.value);
        break;
      case 'cnxTimeout':
        // Read by QuorumCnxManager from the system property zookeeper.cnxTimeout (ms).
        q.cnxTimeoutMs = toInt(e, 0, INT_MAX);
        break;
      case 'serverCnxnFactory':
        // NIO or Netty: one connection layer here, TLS included (tls/).
        break;
      default:
        if (SecureClientSettingsBuilder.handles(key)) {
          try {
            const w = tls.apply(key, e.value);
            if (w) warnings.push(`${w} (${where(e)})`);
          } catch (err) {
            if (err instanceof TlsSettingError) throw new ConfigError(`${err.message} (${where(e)})`);
            throw err;
          }
        } else if (key.startsWith('authProvider.') && tls.authProvider(key.slice('authProvider.'.length), e.value)) {
          // The x509 provider: client certificates on the secure port (tls/listener.ts).
        } else if (key.startsWith('ssl.') || key.startsWith('authProvider.')) {
          warnings.push(`${e.key} is not supported yet and is ignored (${where(e)})`);
        } else if (ACCEPTED_IGNORED.has(key)) {
          warnings.push(`${e.key} is not supported yet and is ignored (${where(e)})`);
        } else {
          warnings.push(`unknown key ${e.key} is ignored (${where(e)})`);
        }
    }
  }
  if (!o.dataDir) throw new ConfigError('dataDir is not set');
  o.dataLogDir ??= o.dataDir;
  if (o.clientPort === undefined && clientPortAddressEntry) {
    throw new ConfigError(`clientPortAddress is set but clientPort is not set (line ${clientPortAddressEntry.line})`);
  }
  if (!minSet) o.minSessionTimeoutMs = tick * 2;
  if (!maxSet) o.maxSessionTimeoutMs = tick * 20;
  if (o.minSessionTimeoutMs! > o.maxSessionTimeoutMs!) {
    throw new ConfigError(
      `minSessionTimeout (${o.minSessionTimeoutMs}) must not be larger than maxSessionTimeout (${o.maxSessionTimeoutMs})`,
    );
  }

  // QuorumPeerConfig.setupQuorumPeerConfig: the membership, from zoo.cfg or the dynamic file.
  let memberFile: string | undefined;
  let rawMembers: Entry[];
  let propertyKeys: string[];
  let fileVersion: number | undefined;
  if (q.dynamicConfigFile !== undefined) {
    memberFile = q.dynamicConfigFile;
    const dyn = loadDynamicFile(memberFile);
    rawMembers = dyn.entries;
    fileVersion = dyn.version;
    // Apache puts `version` into the Properties after loading the file.
    propertyKeys = [...dyn.entries.map((e) => e.key), ...(fileVersion !== undefined ? ['version'] : [])];
  } else {
    rawMembers = staticVersion ? [...memberEntries, staticVersion] : memberEntries;
    propertyKeys = fileEntries.map((e) => e.key);
  }
  // The keys of the whole Properties decide the member order (and so the order `conf` prints).
  const parsed = membershipOf(rawMembers, q, memberFile, propertyKeys);
  const qv: QuorumVerifierConfig = { members: parsed.members, version: fileVersion ?? parsed.version };
  for (const k of parsed.duplicates)
    warnings.push(`${k} is set more than once${memberFile ? ` in ${memberFile}` : ''}; the last one counts`);
  for (const e of rawMembers) {
    if (!e.key.startsWith('server.')) continue;
    const id = javaParseLong(e.key.slice('server.'.length));
    if (id !== undefined) servers.set(Number(id), e.value);
  }

  // QuorumPeerConfig.parseDynamicConfig: participant and observer counts.
  const voters = votingMembers(qv).length;
  const observers = observingMembers(qv).length;
  if (voters === 0) {
    if (!q.standaloneEnabled) throw new ConfigError('standaloneEnabled = false then number of participants should be >0');
    if (observers > 0) throw new ConfigError('Observers w/o participants is an invalid configuration');
  } else if (voters === 1 && q.standaloneEnabled) {
    if (observers > 0) throw new ConfigError('Observers w/o quorum is an invalid configuration');
    warnings.push(
      'Invalid configuration, only one server specified (ignoring): with standaloneEnabled=true (the default) a single server.N line runs a standalone server, as Apache ZooKeeper does',
    );
  } else if (voters <= 2) {
    warnings.push('No server failure will be tolerated. You need at least 3 servers.');
  } else if (voters % 2 === 0) {
    warnings.push('Non-optimal configuration, consider an odd number of servers.');
  }
  const distributed = !q.standaloneEnabled || voters > 1;

  // setupMyId: read in every mode; a standalone server uses it as its id too.
  const myId = readMyId(o.dataDir);
  if (myId !== undefined) o.serverId = myId;

  // setupClientPort: this server's line may carry the client address.
  const me = myId === undefined ? undefined : findMember(qv, myId);
  // Apache treats clientPort=0 as not set.
  const staticPort = o.clientPort !== undefined && o.clientPort !== 0 ? o.clientPort : undefined;
  if (me && me.clientPort !== undefined) {
    if (staticPort !== undefined) {
      const staticHost = o.clientPortAddress ?? '0.0.0.0';
      const lineHost = me.clientAddress!;
      const fmt = (h: string, p: number): string => `${h.includes(':') ? `[${h}]` : h}:${p}`;
      const mismatch = `client address for this server (id = ${myId}) in static config file is ${fmt(javaHostString(staticHost), staticPort)} is different from client address found in dynamic file: ${fmt(lineHost, me.clientPort)}`;
      if (isWildcardHost(staticHost)) {
        if (staticPort !== me.clientPort) throw new ConfigError(`${mismatch} (server.${myId}${memberFile ? ` in ${memberFile}` : ''})`);
      } else if (staticPort !== me.clientPort) {
        throw new ConfigError(`${mismatch} (server.${myId}${memberFile ? ` in ${memberFile}` : ''})`);
      } else if (!sameHost(staticHost, lineHost)) {
        if (isLiteralOrLocalhost(staticHost) && isLiteralOrLocalhost(lineHost)) {
          throw new ConfigError(`${mismatch} (server.${myId}${memberFile ? ` in ${memberFile}` : ''})`);
        }
        // Apache compares resolved addresses; without a synchronous resolver names are not compared.
        warnings.push(
          `clientPortAddress ${staticHost} and the client address ${lineHost} of server.${myId} are not compared (names are not resolved); the server.${myId} address is used`,
        );
      }
    }
    o.clientPort = me.clientPort;
    o.clientPortAddress = me.clientAddress!;
  } else if (me && o.clientPort !== undefined) {
    me.clientAddress = javaHostString(o.clientPortAddress ?? '0.0.0.0');
    me.clientPort = o.clientPort;
    me.clientFromStatic = true;
  }

  // setupPeerType: the server list decides; a different peerType only warns.
  let peerType = q.peerType;
  const roleByList: LearnerRole = me?.role === 'observer' ? 'observer' : 'participant';
  if (roleByList !== peerType) {
    // Apache warns even when peerType was never set; only an explicit peerType is worth a warning.
    if (q.peerTypeSet) {
      warnings.push(`Peer type from servers list (${roleByList}) doesn't match peerType (${peerType}). Defaulting to servers list.`);
    }
    peerType = roleByList;
  }

  let ensemble: EnsembleConfig | undefined;
  if (distributed) {
    // checkValidity, then what Apache only finds out when the peer starts.
    if (q.initLimit === 0)
      throw new ConfigError('initLimit is not set (an ensemble needs it: ticks a follower may take to connect and sync to the leader)');
    if (q.syncLimit === 0) throw new ConfigError('syncLimit is not set (an ensemble needs it: ticks a follower may lag behind the leader)');
    if (myId === undefined)
      throw new ConfigError(`myid file is missing: ${join(o.dataDir, 'myid')} must hold this server's id (the N of its server.N line)`);
    if (q.initLimit < 0) throw new ConfigError(`initLimit=${q.initLimit} is out of range [1, ${INT_MAX}]`);
    if (q.syncLimit < 0) throw new ConfigError(`syncLimit=${q.syncLimit} is out of range [1, ${INT_MAX}]`);
    if (!me) {
      throw new ConfigError(
        `My id ${myId} not in the peer list (${join(o.dataDir, 'myid')} says ${myId}; the server.N lines${memberFile ? ` in ${memberFile}` : ''} list ${qv.members.map((m) => m.id).join(', ')})`,
      );
    }
    if (o.extendedTypesEnabled && myId > 254) {
      throw new ConfigError('extendedTypesEnabled is true but Server ID is too large. Cannot be larger than 254');
    }
    for (const m of qv.members) {
      if (m.id < 0 || m.id > 255) {
        warnings.push(
          `server.${m.id}: ids outside 0..255 do not fit the top byte of session ids (Apache accepts them, but session ids of servers whose ids agree in the low 8 bits collide)`,
        );
      }
    }
    const seen = new Map<string, number>();
    for (const m of qv.members) {
      for (const a of m.addresses) {
        for (const port of [a.quorumPort, a.electionPort]) {
          const k = `${a.host}:${port}`;
          const other = seen.get(k);
          if (other !== undefined && other !== m.id) warnings.push(`server.${m.id} and server.${other} both use ${k}`);
          seen.set(k, m.id);
        }
      }
    }
    ensemble = {
      members: qv.members,
      version: qv.version,
      myId,
      peerType,
      initLimit: q.initLimit,
      syncLimit: q.syncLimit,
      connectToLearnerMasterLimit: q.connectToLearnerMasterLimit,
      electionAlg: q.electionAlg,
      standaloneEnabled: q.standaloneEnabled,
      quorumListenOnAllIPs: q.quorumListenOnAllIPs,
      cnxTimeoutMs: q.cnxTimeoutMs,
      multiAddressEnabled: q.multiAddressKey ?? q.multiAddressSysProp,
    };
    if (q.dynamicConfigFile !== undefined) ensemble.dynamicConfigFile = q.dynamicConfigFile;
    if (configPath !== undefined) ensemble.configPath = resolve(configPath);
  }

  // <zoo.cfg>.dynamic.next: a reconfiguration seen but not committed (QuorumPeerConfig.parse).
  if (q.dynamicConfigFile !== undefined && configPath !== undefined) {
    const nextPath = `${configPath}.dynamic.next`;
    if (existsSync(nextPath)) {
      let nextText: string | undefined;
      try {
        nextText = readFileSync(nextPath, 'utf8');
      } catch {
        warnings.push(`cannot read ${nextPath}; NextQuorumVerifier is initiated to null`);
      }
      if (nextText !== undefined) {
        const nextEntries = parseProperties(nextText);
        for (const e of nextEntries) {
          if (e.key.startsWith('group') || e.key.startsWith('weight'))
            throw new ConfigError(`${e.key}: ${HIERARCHICAL} (line ${e.line} of ${nextPath})`);
        }
        const next = membershipOf(nextEntries, q, nextPath);
        if (ensemble) ensemble.lastSeen = { members: next.members, version: next.version };
      }
    }
  }

  let secureClient: ReturnType<SecureClientSettingsBuilder['finish']>;
  try {
    secureClient = tls.finish(warnings);
  } catch (err) {
    if (err instanceof TlsSettingError) throw new ConfigError(err.message);
    throw err;
  }
  // As ZooKeeper: either client port may be absent, not both.
  const plainPortless = o.clientPort === undefined && secureClient !== undefined;
  if (plainPortless) o.clientPort = 0;
  if (o.clientPort === undefined) {
    throw new ConfigError(
      distributed
        ? `clientPort is not set (neither the clientPort key nor this server's server.${myId} line gives one)`
        : 'clientPort is not set',
    );
  }
  const options: ServerOptions & ObservabilityOptions = defaultServerOptions({ adminEnabled: true, ...o, ensemble });
  if (secureClient) options.secureClient = secureClient;
  if (plainPortless) options.clientPortEnabled = false;
  if (metricsKeySeen) {
    const className = metrics.className ?? 'org.apache.zookeeper.metrics.impl.DefaultMetricsProvider';
    if (className !== PROMETHEUS_PROVIDER && metrics.httpPort !== undefined) {
      warnings.push(`metricsProvider.httpPort has no effect: metricsProvider.className is not ${PROMETHEUS_PROVIDER}`);
    }
    options.metricsProvider = {
      className,
      httpHost: metrics.httpHost ?? METRICS_HTTP_HOST_DEFAULT,
      httpPort: metrics.httpPort ?? METRICS_HTTP_PORT_DEFAULT,
      exportJvmInfo: metrics.exportJvmInfo ?? true,
    };
  }
  if (fsyncWarningThresholdMs !== undefined) options.fsyncWarningThresholdMs = fsyncWarningThresholdMs;
  if (saslKeySeen) {
    try {
      options.sasl = finishSaslOptions(sasl);
    } catch (e) {
      if (e instanceof JaasError || e instanceof SaslConfigError) throw new ConfigError(e.message);
      throw e;
    }
  }
  return { options, warnings, servers };
}

function isLiteralOrLocalhost(host: string): boolean {
  const h = javaHostString(host);
  return h === 'localhost' || /^[\d.]+$/.test(h) || h.includes(':');
}

/** Whether two configured hosts are the same address, as far as can be told without DNS. */
function sameHost(a: string, b: string): boolean {
  const norm = (h: string): string => {
    const j = javaHostString(h).toLowerCase();
    return j === 'localhost' ? '127.0.0.1' : j;
  };
  return norm(a) === norm(b);
}

export function loadZooCfg(path: string, sysProps: Record<string, string> = {}): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return parseZooCfg(text, dirname(resolve(path)), sysProps, path);
}
