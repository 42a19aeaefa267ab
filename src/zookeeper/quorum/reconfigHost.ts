// An ensemble member's dynamic configuration: the committed one (QuorumPeer's quorumVerifier)
// and the last one proposed (lastSeenQuorumVerifier), kept in /zookeeper/config, and the
// leader's side of a reconfig request (prep by reconfig.ts's rules, as a reconfig txn).
//
// What commits: removing any member (voter or observer), adding a new one (the peer transport
// learns its address from the configuration), adding one back with its server line unchanged,
// and version bumps. The consensus core switches its voters when the reconfig commits
// (dualQuorum.ts). Not yet: changing a known member's line (its addresses or its role): such a
// request passes every Apache check and is then answered UNIMPLEMENTED, before it takes effect
// anywhere.

import { Err, OpCode, Perms } from '../protocol/constants.js';
import type { AclT, IdT } from '../protocol/records.js';
import { checkAcl } from '../server/acl.js';
import { silentLogger, type Logger } from '../../util/log.js';
import type { DataTree } from '../server/datatree.js';
import { NO_SLOT } from '../server/nodeTable.js';
import type { Txn } from '../server/txn.js';
import { decodeTxn, encodeTxn } from '../persistence/txnCodec.js';
import type { ConfigNote, QTxn, QuorumMemberSpec } from './types.js';
import { parseProperties } from '../config.js';
import {
  formatServerLine,
  isQuorum,
  parseMembership,
  renderMembership,
  type EnsembleConfig,
  type LearnerRole,
  type QuorumVerifierConfig,
} from './config.js';
import { planReconfig, ReconfigRefused, type ReconfigArgs } from './reconfig.js';

export const CONFIG_NODE = '/zookeeper/config';

/** Where a txn's type sits in its encoding (TxnHeader: clientId 8, cxid 4, zxid 8, time 8, then type). */
const TXN_TYPE_OFFSET = 28;

/** The consensus core's view of a configuration: ids and whether each votes. */
export function memberSpecs(qv: QuorumVerifierConfig): QuorumMemberSpec[] {
  return qv.members.map((m) => ({ id: m.id, observer: m.role === 'observer' }));
}

/** What the leader's prep needs from the member (reconfig hook of ZooKeeperServer). */
export interface ReconfigPrep {
  /**
   * The /zookeeper/config data of the configuration `args` asks for, with `zxid` as its
   * version; throws a KeeperError with the client's error code.
   */
  prepare(args: ReconfigArgs, auth: readonly IdT[], zxid: number): Buffer;
}

export class DynamicConfig implements ReconfigPrep {
  current: QuorumVerifierConfig;
  lastSeen: QuorumVerifierConfig;
  /**
   * Every member this process has known (started with, or in a committed configuration): its
   * role cannot change yet, nor the line of a started member or a voter (an observer added by
   * reconfig may move: the transport takes its new address).
   */
  private readonly known = new Map<number, { line: string; role: LearnerRole; fixed: boolean }>();

  constructor(
    private readonly ensemble: EnsembleConfig,
    private readonly opts: { skipAcl: boolean; standaloneEnabled: boolean },
    private readonly leader: {
      /** The participants connected and synced to this leader (itself included when it votes). */
      syncedIds(): Iterable<number>;
      /** The ACL of /zookeeper/config now (world:anyone:r unless a superuser changed it). */
      configAcl(): readonly AclT[];
    },
    private readonly log: Logger = silentLogger,
  ) {
    this.current = { members: ensemble.members, version: ensemble.version };
    this.lastSeen = this.current;
    for (const m of ensemble.members) this.known.set(m.id, { line: formatServerLine(m), role: m.role, fixed: true });
  }

  /** /zookeeper/config's bytes for a configuration (QuorumMaj.toString()). */
  static render(qv: QuorumVerifierConfig): Buffer {
    return Buffer.from(renderMembership(qv), 'utf8');
  }

  /** Parses /zookeeper/config data back; undefined for anything that is not a configuration. */
  parse(data: Uint8Array | null): QuorumVerifierConfig | undefined {
    if (!data || data.length === 0) return undefined;
    try {
      const { members, version } = parseMembership(parseProperties(Buffer.from(data).toString('utf8')), {
        multiAddressEnabled: this.ensemble.multiAddressEnabled,
      });
      return members.length > 0 ? { members, version } : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * After the tree was (re)built from disk or a leader's snapshot: a reconfig committed into the
   * tree (a newer version than the files') is the configuration, since we write no dynamic file;
   * then the node shows the configuration.
   */
  initTree(tree: DataTree, now: number): void {
    const slot = tree.find(CONFIG_NODE);
    const inTree = slot === NO_SLOT ? undefined : this.parse(tree.table.valueAt(slot));
    // Only one this process can carry out (its started members unchanged): otherwise the files win,
    // as Apache's initConfigInZKDatabase overwrites the node (e.g. a data dir from another ensemble).
    if (inTree && inTree.version > this.current.version && !this.unsupportedChange(inTree)) this.take(inTree);
    if (this.lastSeen.version < this.current.version) this.lastSeen = this.current;
    if (inTree && inTree.version === this.current.version) return; // already as committed
    tree.setConfigNode(DynamicConfig.render(this.current), this.current.version, now);
  }

  /** A leader starts with nothing in flight but what its own log will commit. */
  resetLastSeen(): void {
    this.lastSeen = this.current;
  }

  prepare(args: ReconfigArgs, auth: readonly IdT[], zxid: number): Buffer {
    try {
      return this.plan(args, auth, zxid);
    } catch (e) {
      if (e instanceof ReconfigRefused) this.log.info({ zxid: zxid.toString(16), code: e.code }, e.message);
      throw e;
    }
  }

  private plan(args: ReconfigArgs, auth: readonly IdT[], zxid: number): Buffer {
    const qv = planReconfig(
      args,
      {
        current: this.current,
        lastSeen: this.lastSeen,
        standaloneEnabled: this.opts.standaloneEnabled,
        lineOpts: { multiAddressEnabled: this.ensemble.multiAddressEnabled },
        isQuorumSynced: (next) => isQuorum(next, this.leader.syncedIds()),
        mayWriteConfig: () => checkAcl(this.leader.configAcl(), Perms.WRITE, auth, this.opts.skipAcl),
      },
      zxid,
    );
    const unsupported = this.unsupportedChange(qv);
    if (unsupported) throw new ReconfigRefused(Err.UNIMPLEMENTED, unsupported);
    this.lastSeen = qv;
    this.log.info({ zxid: zxid.toString(16) }, 'reconfig proposed');
    return DynamicConfig.render(qv);
  }

  /** Why this process cannot carry out `qv` (see the file comment), or undefined. */
  private unsupportedChange(qv: QuorumVerifierConfig): string | undefined {
    for (const m of qv.members) {
      const k = this.known.get(m.id);
      if (k === undefined) continue;
      if (k.role !== m.role) return `switching server.${m.id} between participant and observer is not implemented yet`;
      if (k.fixed && formatServerLine(m) !== k.line) {
        return `changing server.${m.id}'s addresses is not implemented yet (remove it, or add it back with its earlier line)`;
      }
    }
    return undefined;
  }

  /** `qv` is the committed configuration now. */
  private take(qv: QuorumVerifierConfig): void {
    this.current = qv;
    if (this.lastSeen.version < qv.version) this.lastSeen = qv;
    for (const m of qv.members) {
      const fixed = this.known.get(m.id)?.fixed === true || m.role === 'participant';
      this.known.set(m.id, {
        line: fixed ? (this.known.get(m.id)?.line ?? formatServerLine(m)) : formatServerLine(m),
        role: m.role,
        fixed,
      });
    }
  }

  /** A configuration as election notifications carry it: a reconfig txn setting it (what membersOf decodes). */
  static note(qv: QuorumVerifierConfig): ConfigNote {
    const header = { clientId: 0n, cxid: 0, zxid: qv.version, time: 0, type: OpCode.reconfig };
    const body = { kind: 'setData' as const, op: OpCode.setData, path: CONFIG_NODE, data: DynamicConfig.render(qv), version: -1 };
    return { version: qv.version, data: encodeTxn({ header, body }) };
  }

  /**
   * The core adopted a committed configuration from an election notification or its leader's
   * NEWLEADER: it is ours (QuorumPeer.processReconfig), and /zookeeper/config shows it. Returns
   * it, or undefined if it is older than ours, the same, or cannot be read.
   */
  adopted(note: ConfigNote, tree: DataTree, now: number): QuorumVerifierConfig | undefined {
    const d = note.data;
    const { txn } = decodeTxn(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    const qv = txn.body.kind === 'setData' ? this.parse(txn.body.data) : undefined;
    if (!qv || qv.version < this.current.version || renderMembership(qv) === renderMembership(this.current)) return undefined;
    this.take(qv);
    tree.setConfigNode(DynamicConfig.render(qv), qv.version, now);
    return qv;
  }

  /**
   * The configuration a logged txn switches to, for the consensus core (CoreConfig.reconfigOf):
   * only reconfig txns (type 16) are decoded, the rest cost one read of the type.
   */
  membersOf(txn: QTxn): QuorumMemberSpec[] | undefined {
    const d = txn.data;
    if (d.byteLength < TXN_TYPE_OFFSET + 4) return undefined;
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    if (view.getInt32(TXN_TYPE_OFFSET) !== OpCode.reconfig) return undefined;
    const { txn: t } = decodeTxn(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    if (t.body.kind !== 'setData') return undefined;
    const qv = this.parse(t.body.data);
    return qv ? memberSpecs(qv) : undefined;
  }

  /** A committed reconfig txn (any member): the new configuration takes effect. */
  applied(txn: Txn): void {
    if (txn.header.type !== OpCode.reconfig || txn.body.kind !== 'setData') return;
    const qv = this.parse(txn.body.data);
    // One adopted from an election may be newer (Apache's setQuorumVerifier ignores an older one).
    if (!qv || qv.version < this.current.version) return;
    this.take(qv);
  }
}
