// Dynamic reconfiguration (op 16) as ZooKeeper 3.8's leader preps it (PrepRequestProcessor's
// reconfig branch): the checks in Apache's order, and the membership the request asks for.
// Pure: the leader's view (synced learners, ACL of /zookeeper/config) comes in as callbacks.
//
// Apache's order, after reconfigEnabled and the session check (done by the caller):
//   standalone -> UNIMPLEMENTED; a reconfig in flight -> RECONFIGINPROGRESS;
//   fromConfig neither -1 nor the last seen version -> BADVERSION;
//   unparsable members / joiners -> BADARGUMENTS (a non-numeric id: MARSHALLINGERROR, Apache's
//   NumberFormatException); fewer than 2 voters (1 with standaloneEnabled=false) -> BADARGUMENTS;
//   no connected, synced quorum of the new voters -> NEWCONFIGNOQUORUM;
//   no WRITE on /zookeeper/config (world:anyone:r: only super or skipACL) -> NOAUTH.
// So a non-super client gets BADARGUMENTS for garbage and NOAUTH only for a valid request.

import { Err } from '../protocol/constants.js';
import { parseProperties } from '../config.js';
import { KeeperError } from '../server/prep.js';
import {
  javaLongHashMapOrder,
  javaParseLong,
  parseMembership,
  parseServerLine,
  QuorumConfigError,
  votingMembers,
  type QuorumMember,
  type QuorumVerifierConfig,
  type ServerLineOptions,
} from './config.js';

/** ReconfigRequest as decoded: null (Java's null) and "" mean different things to Apache. */
export interface ReconfigArgs {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}

/** A refused reconfig: the error code the client gets, and why (for the log). */
export class ReconfigRefused extends KeeperError {
  constructor(code: number, why: string) {
    super(code, '/zookeeper/config');
    this.message = `reconfig refused (${code}): ${why}`;
  }
}

export interface ReconfigEnv {
  /** The committed configuration (QuorumPeer.getQuorumVerifier). */
  current: QuorumVerifierConfig;
  /** The last configuration proposed (getLastSeenQuorumVerifier); differs from current while one is in flight. */
  lastSeen: QuorumVerifierConfig;
  standaloneEnabled: boolean;
  lineOpts: ServerLineOptions;
  /** Leader.isQuorumSynced: the leader and synced learners that vote in `qv` form its quorum. */
  isQuorumSynced(qv: QuorumVerifierConfig): boolean;
  /** checkACL(WRITE) on /zookeeper/config for the requester (true for super and skipACL). */
  mayWriteConfig(): boolean;
}

/** ZooKeeper's StringUtils.split: split on `sep`, trim, drop empty pieces. */
function splitTrim(s: string, sep: string): string[] {
  return s
    .split(sep)
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}

/** Long.parseLong of an id; a NumberFormatException is a MARSHALLINGERROR in Apache's prep. */
function parseSid(s: string): number {
  const v = javaParseLong(s);
  if (v === undefined) throw new ReconfigRefused(Err.MARSHALLINGERROR, `server id "${s}" is not a number`);
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(-Number.MAX_SAFE_INTEGER)) {
    throw new ReconfigRefused(Err.BADARGUMENTS, `server id ${s} is too large for this implementation`);
  }
  return Number(v);
}

function isSpecialHost(host: string): boolean {
  return (
    host === '0.0.0.0' ||
    host === '0:0:0:0:0:0:0:0' ||
    host === '::' ||
    host === 'localhost' ||
    host.startsWith('127.') ||
    host === '0:0:0:0:0:0:0:1' ||
    host === '::1'
  );
}

/** host:port pairs of a member that may not be shared (QuorumServer.myAddrs, wildcard and loopback excluded). */
function ownAddresses(m: QuorumMember): string[] {
  const out: string[] = [];
  for (const a of m.addresses) {
    out.push(`${a.host}:${a.quorumPort}`, `${a.host}:${a.electionPort}`);
  }
  if (m.clientAddress !== undefined && m.clientPort !== undefined) out.push(`${m.clientAddress}:${m.clientPort}`);
  return out.filter((hp) => !isSpecialHost(hp.slice(0, hp.lastIndexOf(':'))));
}

/** QuorumServer.checkAddressDuplicate. */
function checkAddressDuplicate(joiner: QuorumMember, other: QuorumMember): void {
  const theirs = new Set(ownAddresses(other));
  for (const mine of ownAddresses(joiner)) {
    if (theirs.has(mine)) {
      throw new ReconfigRefused(Err.BADARGUMENTS, `${mine} of server.${joiner.id} conflicts with server.${other.id}`);
    }
  }
}

/** Non-incremental: the whole new membership, comma or newline separated (parseDynamicConfig). */
function fromNewMembers(text: string, env: ReconfigEnv): QuorumMember[] {
  const entries = parseProperties(text.replaceAll(',', '\n'));
  for (const e of entries) {
    const key = e.key.trim();
    if (key.startsWith('group') || key.startsWith('weight')) {
      throw new ReconfigRefused(Err.BADARGUMENTS, 'hierarchical quorums (group/weight keys) are not supported');
    }
    if (!key.startsWith('server.') && key !== 'version') throw new ReconfigRefused(Err.BADARGUMENTS, `Unrecognised parameter: ${key}`);
    // QuorumMaj(Properties) parses ids and the version with Long.parseLong outside its ConfigException handling.
    if (key.startsWith('server.')) parseSid(key.slice(key.indexOf('.') + 1));
    if (key === 'version' && javaParseLong(e.value, 16) === undefined) {
      throw new ReconfigRefused(Err.MARSHALLINGERROR, `version "${e.value}" is not a hex number`);
    }
  }
  let members: QuorumMember[];
  try {
    members = parseMembership(entries, env.lineOpts).members;
  } catch (e) {
    if (e instanceof QuorumConfigError) throw new ReconfigRefused(Err.BADARGUMENTS, e.message);
    throw e;
  }
  const voters = members.filter((m) => m.role === 'participant').length;
  const observers = members.length - voters;
  // parseDynamicConfig's IllegalArgumentExceptions: outside Apache's ConfigException handling.
  if (voters === 0 && !env.standaloneEnabled) {
    throw new ReconfigRefused(Err.MARSHALLINGERROR, 'standaloneEnabled = false then number of participants should be >0');
  }
  if (voters === 0 && observers > 0)
    throw new ReconfigRefused(Err.MARSHALLINGERROR, 'Observers w/o participants is an invalid configuration');
  if (voters === 1 && env.standaloneEnabled && observers > 0) {
    throw new ReconfigRefused(Err.MARSHALLINGERROR, 'Observers w/o quorum is an invalid configuration');
  }
  return members;
}

/** Incremental: the last seen membership minus `leaving`, plus (or replacing) `joining`. */
function fromIncremental(args: ReconfigArgs, env: ReconfigEnv): QuorumMember[] {
  const next = new Map<number, QuorumMember>(env.lastSeen.members.map((m) => [m.id, m]));
  if (args.leavingServers !== null) {
    for (const leaving of splitTrim(args.leavingServers, ',')) next.delete(parseSid(leaving));
  }
  if (args.joiningServers !== null) {
    for (const joiner of splitTrim(args.joiningServers, ',')) {
      const parts = splitTrim(joiner, '=');
      if (parts.length !== 2) throw new ReconfigRefused(Err.BADARGUMENTS, 'Wrong format of server string');
      const sid = parseSid(parts[0]!.slice(parts[0]!.lastIndexOf('.') + 1));
      let qs: QuorumMember;
      try {
        qs = parseServerLine(sid, parts[1]!, env.lineOpts);
      } catch (e) {
        if (e instanceof QuorumConfigError) throw new ReconfigRefused(Err.BADARGUMENTS, `Reconfiguration failed: ${e.message}`);
        throw e;
      }
      if (qs.clientPort === undefined) {
        throw new ReconfigRefused(Err.BADARGUMENTS, 'Wrong format of server string - each server should have 3 ports specified');
      }
      for (const other of next.values()) if (other.id !== qs.id) checkAddressDuplicate(qs, other);
      // Apache removes then puts: a re-added id moves to where its hash order puts it.
      next.delete(qs.id);
      next.set(qs.id, qs);
    }
  }
  return [...next.values()];
}

/** QuorumMaj's HashMap<Long, QuorumServer> iteration order: what /zookeeper/config prints. */
function hashOrder(members: QuorumMember[]): QuorumMember[] {
  const byId = new Map(members.map((m) => [m.id, m]));
  return javaLongHashMapOrder(members.map((m) => m.id)).map((id) => byId.get(id)!);
}

/**
 * Checks a reconfig request in Apache's order and returns the configuration it proposes, with
 * `zxid` as its version. Throws ReconfigRefused with the client's error code.
 */
export function planReconfig(args: ReconfigArgs, env: ReconfigEnv, zxid: number): QuorumVerifierConfig {
  if (env.lastSeen.version !== env.current.version) {
    throw new ReconfigRefused(Err.RECONFIGINPROGRESS, `version ${env.lastSeen.version.toString(16)} is still being committed`);
  }
  if (args.curConfigId !== -1 && args.curConfigId !== env.lastSeen.version) {
    throw new ReconfigRefused(
      Err.BADVERSION,
      `Reconfiguration from version ${args.curConfigId} failed -- last seen version is ${env.lastSeen.version}`,
    );
  }
  const members = args.newMembers !== null ? fromNewMembers(args.newMembers, env) : fromIncremental(args, env);
  const qv: QuorumVerifierConfig = { members: hashOrder(members), version: zxid };
  const voters = votingMembers(qv).length;
  if (env.standaloneEnabled && voters < 2) {
    throw new ReconfigRefused(Err.BADARGUMENTS, 'Reconfig failed - new configuration must include at least 2 followers');
  }
  if (voters < 1) throw new ReconfigRefused(Err.BADARGUMENTS, 'Reconfig failed - new configuration must include at least 1 follower');
  if (!env.isQuorumSynced(qv)) {
    throw new ReconfigRefused(Err.NEWCONFIGNOQUORUM, 'Reconfig failed - there must be a connected and synced quorum in new configuration');
  }
  if (!env.mayWriteConfig()) throw new ReconfigRefused(Err.NOAUTH, 'only a superuser (or skipACL) may reconfigure');
  return qv;
}

/** Whether two configurations have the same voters, with the same quorum and election addresses. */
export function sameVoters(a: QuorumVerifierConfig, b: QuorumVerifierConfig): boolean {
  const key = (m: QuorumMember): string => `${m.id}@${m.addresses.map((x) => `${x.host}:${x.quorumPort}:${x.electionPort}`).join('|')}`;
  const ka = votingMembers(a).map(key).sort();
  const kb = votingMembers(b).map(key).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}
