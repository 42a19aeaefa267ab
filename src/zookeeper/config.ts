// zoo.cfg parsing, as QuorumPeerConfig reads it: Java properties syntax, the same keys and
// defaults. Unsupported keys warn once each; bad values fail fast naming the key and line.

import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve, dirname } from 'node:path';
import { defaultServerOptions, type ServerOptions } from './server/options.js';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ParsedConfig {
  options: ServerOptions;
  warnings: string[];
  /** server.N entries (the ensemble issue uses them). */
  servers: Map<number, string>;
}

interface Entry {
  key: string;
  value: string;
  line: number;
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
    const value = (m[2] ?? '').replace(/\s+$/, '');
    out.push({ key, value, line: lineNo });
  }
  return out;
}

/** Keys Apache ZooKeeper accepts that have no effect here yet. */
const ACCEPTED_IGNORED = new Set([
  'initLimit',
  'syncLimit',
  'electionAlg',
  'peerType',
  'syncEnabled',
  'standaloneEnabled',
  'snapSizeLimitInKb',
  'globalOutstandingLimit',
  'maxCnxns',
  'clientPortListenBacklog',
  'localSessionsEnabled',
  'localSessionsUpgradingEnabled',
  'leaderServes',
  'cnxTimeout',
  'quorumListenOnAllIPs',
  'serverCnxnFactory',
  'secureClientPort',
  'secureClientPortAddress',
  'dynamicConfigFile',
  'metricsProvider.className',
  'metricsProvider.httpPort',
  'metricsProvider.exportJvmInfo',
  'digest.enabled',
  'sslQuorum',
  'portUnification',
  'multiAddress.enabled',
  'fsync.warningthresholdms',
  'flushDelay',
  'maxBatchSize',
  'readonlymode.enabled',
  'audit.enable',
  'enforceQuota',
]);

function toInt(e: Entry, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(e.value)) {
    throw new ConfigError(`${e.key} must be an integer, got "${e.value}" (line ${e.line})`);
  }
  const n = Number(e.value);
  if (n < min || n > max) throw new ConfigError(`${e.key}=${e.value} is out of range [${min}, ${max}] (line ${e.line})`);
  return n;
}

function toBool(e: Entry): boolean {
  const v = e.value.toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  throw new ConfigError(`${e.key} must be true or false, got "${e.value}" (line ${e.line})`);
}

/**
 * Parses zoo.cfg text. `baseDir` resolves relative dataDir paths; `sysProps` are -D style
 * properties (zookeeper.* names) applied after the file, like java -D flags.
 */
export function parseZooCfg(text: string, baseDir: string, sysProps: Record<string, string> = {}): ParsedConfig {
  const entries = parseProperties(text);
  for (const [k, v] of Object.entries(sysProps)) entries.push({ key: k, value: v, line: 0 });
  const warnings: string[] = [];
  const servers = new Map<number, string>();
  const o: Partial<ServerOptions> = {};
  let minSet = false;
  let maxSet = false;
  let tick = 3000;
  for (const e of entries) {
    // Unknown zoo.cfg keys become `zookeeper.<key>` system properties in Java; accept both.
    const key = e.key.startsWith('zookeeper.') ? e.key.slice('zookeeper.'.length) : e.key;
    const where = e.line > 0 ? `line ${e.line}` : 'system property';
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
        if (!/^[^:]+:.+$/.test(e.value)) throw new ConfigError(`${e.key} must look like super:<base64 sha1> (${where})`);
        o.superDigest = e.value;
        break;
      case 'skipACL':
        o.skipAcl = e.value === 'yes' || e.value === 'true';
        break;
      case 'jute.maxbuffer':
      case 'maxbuffer':
        o.frameBytesMax = toInt(e, 1024, 0x7fffffff);
        break;
      case 'reconfigEnabled':
        o.reconfigEnabled = toBool(e);
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
      default:
        if (/^server\.\d+$/.test(key)) {
          servers.set(Number(key.slice(7)), e.value);
        } else if (/^(group|weight)\.\d+$/.test(key) || key.startsWith('ssl.') || key.startsWith('authProvider.')) {
          warnings.push(`${e.key} is not supported yet and is ignored (${where})`);
        } else if (ACCEPTED_IGNORED.has(key)) {
          warnings.push(`${e.key} is not supported yet and is ignored (${where})`);
        } else {
          warnings.push(`unknown key ${e.key} is ignored (${where})`);
        }
    }
  }
  if (!o.dataDir) throw new ConfigError('dataDir is not set');
  o.dataLogDir ??= o.dataDir;
  if (o.clientPort === undefined) throw new ConfigError('clientPort is not set');
  if (!minSet) o.minSessionTimeoutMs = tick * 2;
  if (!maxSet) o.maxSessionTimeoutMs = tick * 20;
  if (o.minSessionTimeoutMs! > o.maxSessionTimeoutMs!) {
    throw new ConfigError(`minSessionTimeout (${o.minSessionTimeoutMs}) must not be larger than maxSessionTimeout (${o.maxSessionTimeoutMs})`);
  }
  const myidFile = join(o.dataDir, 'myid');
  if (existsSync(myidFile)) {
    const raw = readFileSync(myidFile, 'utf8').trim();
    if (!/^\d+$/.test(raw)) throw new ConfigError(`${myidFile} must contain a server id, got "${raw}"`);
    o.serverId = Number(raw);
  }
  if (servers.size > 1) {
    throw new ConfigError(`${servers.size} server.N entries configure an ensemble; only standalone mode is available in this version`);
  }
  const options = defaultServerOptions({ adminEnabled: true, ...o });
  return { options, warnings, servers };
}

export function loadZooCfg(path: string, sysProps: Record<string, string> = {}): ParsedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  return parseZooCfg(text, dirname(resolve(path)), sysProps);
}
