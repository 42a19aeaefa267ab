// The ensemble part of zoo.cfg, as Apache ZooKeeper 3.8's QuorumPeerConfig reads it rule by
// rule: the server.N lines (in zoo.cfg or in the dynamicConfigFile) and `<zoo.cfg>.dynamic.next`,
// myid, this server's client address from its line, peerType, initLimit/syncLimit and the other
// quorum keys. The server.N syntax, the quorum math and the `conf` rendering live in
// quorum/config.ts; config.ts reads the rest of zoo.cfg.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { ServerOptions } from './server/options.js';
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
import { ConfigError, INT_MAX, INT_MIN, parseProperties, toInt, toJavaBool, where, type PropertyEntry } from './configProperties.js';

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

function loadDynamicFile(path: string): { entries: PropertyEntry[]; version: number | undefined } {
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
  entries: PropertyEntry[],
  q: QuorumSettings,
  file: string | undefined,
  propertyKeys: string[] = entries.map((e) => e.key),
): QuorumVerifierConfig & { duplicates: string[] } {
  try {
    return parseMembership(entries, { multiAddressEnabled: q.multiAddressSysProp }, propertyKeys);
  } catch (err) {
    if (err instanceof MembershipEntryError) {
      const what = err.message.includes(err.entry.value) ? err.entry.key : `${err.entry.key}=${err.entry.value}`;
      let msg = `${what}: ${err.message} (${where(err.entry as PropertyEntry, file)})`;
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
 * Reads the ensemble part of a zoo.cfg (QuorumPeerConfig): parseZooCfg hands it each line, then
 * calls finish() once every key is read.
 */
export class EnsembleConfigReader {
  private readonly q: QuorumSettings = {
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
  /** Membership keys as QuorumMaj reads them from the zoo.cfg Properties (static configuration). */
  private readonly memberEntries: PropertyEntry[] = [];
  private readonly dynamicMode: boolean;
  private staticVersion: PropertyEntry | undefined;

  /** `fileEntries`: the zoo.cfg lines (no system properties); `warnings` is appended to. */
  constructor(
    private readonly fileEntries: PropertyEntry[],
    private readonly warnings: string[],
  ) {
    this.dynamicMode = fileEntries.some((e) => e.key === 'dynamicConfigFile');
  }

  /** Takes a zoo.cfg line of the membership (server.N, group.N/weight.N, version); false for any other. */
  takeMembershipLine(e: PropertyEntry): boolean {
    const fromFile = e.line > 0;
    if (fromFile && (e.key.startsWith('server.') || e.key.startsWith('group') || e.key.startsWith('weight'))) {
      if (this.dynamicMode) throw new ConfigError(`parameter: ${e.key} must be in a separate dynamic config file (line ${e.line})`);
      if (!e.key.startsWith('server.')) throw new ConfigError(`${e.key}: ${HIERARCHICAL} (line ${e.line})`);
      this.memberEntries.push(e);
      return true;
    }
    if (fromFile && e.key === 'version') {
      if (this.dynamicMode)
        this.warnings.push(`version is ignored with dynamicConfigFile: the version comes from the dynamic file's name (line ${e.line})`);
      else this.staticVersion = e;
      return true;
    }
    return false;
  }

  /** Applies a QuorumPeerConfig key (`key`: the name without a `zookeeper.` prefix); false for any other key. */
  applySetting(e: PropertyEntry, key: string, baseDir: string): boolean {
    const q = this.q;
    const fromFile = e.line > 0;
    if (QUORUM_PEER_CONFIG_KEYS.has(key) && (!fromFile || key !== e.key)) {
      if (e.key === 'zookeeper.multiAddress.enabled') {
        // The system property QuorumServer reads (Boolean.parseBoolean: anything but "true" is false).
        q.multiAddressSysProp = e.value.toLowerCase() === 'true';
      } else {
        this.warnings.push(`${e.key} has no effect (${where(e)}): Apache ZooKeeper reads ${key} only as a zoo.cfg key`);
      }
      return true;
    }
    switch (key) {
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
      default:
        return false;
    }
    return true;
  }

  /**
   * After every key: the membership (QuorumPeerConfig.setupQuorumPeerConfig), from zoo.cfg or the
   * dynamic file, then myid, this server's client address, its peer type, the ensemble checks and
   * `<zoo.cfg>.dynamic.next`. Sets `o.serverId`, and `o.clientPort`/`o.clientPortAddress` from
   * this server's line; `ensemble` is undefined for a standalone server.
   */
  finish(
    o: Partial<ServerOptions>,
    dataDir: string,
    configPath: string | undefined,
  ): { ensemble: EnsembleConfig | undefined; distributed: boolean; myId: number | undefined; servers: Map<number, string> } {
    const { q, memberEntries, staticVersion, fileEntries, warnings } = this;
    const servers = new Map<number, string>();
    // QuorumPeerConfig.setupQuorumPeerConfig: the membership, from zoo.cfg or the dynamic file.
    let memberFile: string | undefined;
    let rawMembers: PropertyEntry[];
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
    const myId = readMyId(dataDir);
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
      if (q.syncLimit === 0)
        throw new ConfigError('syncLimit is not set (an ensemble needs it: ticks a follower may lag behind the leader)');
      if (myId === undefined)
        throw new ConfigError(`myid file is missing: ${join(dataDir, 'myid')} must hold this server's id (the N of its server.N line)`);
      if (q.initLimit < 0) throw new ConfigError(`initLimit=${q.initLimit} is out of range [1, ${INT_MAX}]`);
      if (q.syncLimit < 0) throw new ConfigError(`syncLimit=${q.syncLimit} is out of range [1, ${INT_MAX}]`);
      if (!me) {
        throw new ConfigError(
          `My id ${myId} not in the peer list (${join(dataDir, 'myid')} says ${myId}; the server.N lines${memberFile ? ` in ${memberFile}` : ''} list ${qv.members.map((m) => m.id).join(', ')})`,
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
    return { ensemble, distributed, myId, servers };
  }
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
