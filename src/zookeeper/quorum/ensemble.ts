// One ensemble member: the consensus core (peer.ts) bound to the peer transport, the data
// directory and the client-facing ZooKeeper server. This is the shell around the pure core: it
// carries out the core's outputs (send, persist + report `persisted`, commit, truncate, install a
// snapshot, role changes) and feeds it ticks, messages and disk completions, one at a time.
//
// Leader: the prep stage runs here for local and forwarded writes; a Zab sync stage proposes each
// txn and completes it on commit. Learners forward writes, session creation and sync barriers,
// serve reads from their replica, and answer their clients when the commit arrives. Only the
// leader expires sessions; learners report the sessions their clients keep alive every tick.

import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { OpCode } from '../protocol/constants.js';
import type { IdT } from '../protocol/records.js';
import { Storage, storageOptionsFor } from '../persistence/store.js';
import { decodeTxn, encodeTxn } from '../persistence/txnCodec.js';
import { ENTRY_OVERHEAD_BYTES, frameEntry, type TxnLogWriter } from '../persistence/txnLog.js';
import { serializeSnapshot } from '../persistence/snapshot.js';
import type { ServerOptions } from '../server/options.js';
import type { SyncStage } from '../server/pipeline.js';
import { ZooKeeperServerShell } from '../server/server.js';
import { ConnStats } from '../server/stats.js';
import type { Txn } from '../server/txn.js';
import type { ClientConn, LeaderLink, Pending } from '../server/zkserver.js';
import type { EnsembleConfig, QuorumVerifierConfig } from './config.js';
import { decodeForwarded, decodeTouches, encodeForwarded, encodeTouches } from './forwarding.js';
import type { Forwarded } from './forwarding.js';
import { QuorumPeer } from './peer.js';
import { PeerTransport } from './transport.js';
import { ReadOnlyMode, readOnlyGraceMs } from './readOnly.js';
import { CONFIG_NODE, DynamicConfig, memberSpecs } from './reconfigHost.js';
import { DynamicConfigFiles } from './dynamicConfigFiles.js';
import { DEFAULT_CORE_CONFIG, epochOf, type ConfigNote, type Output, type Persist, type PeerId, type PeerState } from './types.js';

/** How often a learner reports its clients' session activity to the leader. */
const TOUCH_REPORT_MS = 50;
/** Proposals whose start time is kept for quorum_ack_latency; past this many, new ones go untimed. */
const TIMED_PROPOSALS_MAX = 100_000;

/** A zxid as operators read it in Apache's logs: 0x + hex. */
function zxidHex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

/** The leader's sync stage: a txn is proposed and completes when the ensemble commits it. */
class ZabLeaderSync implements SyncStage {
  private waiting: { zxid: number | undefined; done: (err?: Error) => void }[] = [];
  unavailableReason: string | undefined;

  constructor(private readonly member: EnsembleMember) {}

  submit(txn: Txn | null, done: (err?: Error) => void): void {
    if (this.unavailableReason !== undefined) {
      const err = new Error(this.unavailableReason);
      queueMicrotask(() => done(err));
      return;
    }
    if (!txn) {
      if (this.waiting.length === 0) queueMicrotask(() => done());
      else this.waiting.push({ zxid: undefined, done });
      return;
    }
    this.waiting.push({ zxid: txn.header.zxid, done });
    this.member.propose(txn);
  }

  /** Completes what waited for `zxid`; false if nothing here did (a txn of an earlier epoch). */
  committed(zxid: number): boolean {
    const head = this.waiting[0];
    if (!head || head.zxid !== zxid) return false;
    this.waiting.shift();
    head.done();
    while (this.waiting[0] && this.waiting[0].zxid === undefined) this.waiting.shift()!.done();
    return true;
  }

  /** Leadership is gone: nothing waiting will be acknowledged by us. */
  fail(reason: string): void {
    this.unavailableReason = reason;
    const w = this.waiting;
    this.waiting = [];
    const err = new Error(reason);
    for (const x of w) x.done(err);
  }

  async close(): Promise<void> {
    this.fail('server stopped');
  }
}

/** A learner's client session as the leader's pipeline sees it: replies go nowhere (the learner answers). */
class RemoteSessionConn implements ClientConn {
  private static nextId = 1_000_000;
  readonly id = RemoteSessionConn.nextId++;
  readonly remotePort = 0;
  timeoutMs = 0;
  established = true;
  closed = false;
  authIds: IdT[] = [];
  readonly queue: Pending[] = [];
  readonly stats = new ConnStats();

  constructor(
    readonly remoteAddress: string,
    public sessionId: bigint,
  ) {}

  sendReply(): number {
    return 0;
  }
  sendConnectResponse(): void {}
  close(): void {}
  notify(): void {}
}

export interface EnsembleStartOptions {
  logger?: Logger;
  /** Largest peer frame (a SNAP carries a whole snapshot). */
  peerFrameBytesMax?: number;
}

export class EnsembleMember implements LeaderLink {
  readonly shell: ZooKeeperServerShell;
  readonly log: Logger;
  readonly ensemble: EnsembleConfig;
  core!: QuorumPeer;
  transport!: PeerTransport;
  storage!: Storage;
  private writer!: TxnLogWriter;
  private leaderSync: ZabLeaderSync | undefined;
  private dynamicConfig!: DynamicConfig;
  private configFiles: DynamicConfigFiles | undefined;
  /** Stand-ins for learners' client sessions, by learner then session (no key string per request). */
  private readonly remote = new Map<PeerId, Map<bigint, RemoteSessionConn>>();
  private readonly syncs = new Map<number, { c: ClientConn; p: Pending }>();
  private syncSeq = 0;
  private inbox: (() => Output[])[] = [];
  private busy = false;
  private disk: Persist[] = [];
  private diskBusy: Promise<void> | undefined;
  /** A fresh directory's snapshot.0 while it is being written (see start). */
  private freshSnapshot: Promise<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private touchesReportedAt = 0;
  private txnsSinceRoll = 0;
  private rollAfter = 0;
  private stopped = false;
  private resolveStopped!: () => void;
  /** Resolves when the member has stopped, on request or because it could not go on (disk). */
  readonly stoppedPromise = new Promise<void>((r) => (this.resolveStopped = r));
  /** Why the member stopped by itself, if it did. */
  failure: string | undefined;
  state: PeerState = 'looking';
  private leaderSince = 0;
  /** When this member last went LOOKING (election_time), and when its election ended (follower_sync_time). */
  private lookingSince = Date.now();
  private electedAt: number | undefined;
  private servingBefore = false;
  private lastLeader: PeerId | undefined;
  /** Leader: when each outstanding proposal was made (quorum_ack_latency). */
  private readonly proposedAt = new Map<number, number>();
  /** readonlymode.enabled: serves read-only clients while cut off from the quorum. */
  private readonly readOnly: ReadOnlyMode | undefined;

  constructor(
    readonly opts: ServerOptions,
    private readonly start_: EnsembleStartOptions = {},
  ) {
    if (!opts.ensemble) throw new Error('EnsembleMember needs an ensemble configuration');
    this.ensemble = opts.ensemble;
    this.log = start_.logger ?? silentLogger;
    // The shell's own storage stays off: the member owns the data directory.
    this.shell = new ZooKeeperServerShell(opts, { logger: this.log, syncStage: new NotServingSync() });
    this.shell.core.serving = false;
    this.shell.core.expiresSessions = false;
    this.shell.core.quorumView = {
      leaderId: () => this.core?.leader,
      zabState: () => this.core?.monitor().zabState ?? 'election',
      fsyncThresholdExceedCount: () => this.storage?.fsyncThresholdExceedCount ?? 0,
    };
    this.shell.mode = 'looking';
    if (opts.readOnlyModeEnabled) this.readOnly = new ReadOnlyMode(this.shell, this.log, readOnlyGraceMs(opts.tickTimeMs));
    this.shell.quorum = {
      peerState: () =>
        `${this.core?.state ?? 'looking'}${this.core ? ` - ${this.core.monitor().zabState}` : ''}`.replace(/ - election$/, ''),
      quorumSize: () => this.ensemble.members.filter((m) => m.role === 'participant').length,
      leaderStats: () => {
        if (this.state !== 'leading' || !this.core) return undefined;
        const m = this.core.monitor();
        return { ...m, uptimeMs: this.leaderSince ? Date.now() - this.leaderSince : 0 };
      },
    };
  }

  get id(): PeerId {
    return this.ensemble.myId;
  }

  private get zk() {
    return this.shell.core;
  }

  async start(): Promise<void> {
    const o = this.opts;
    const storage = await Storage.open(storageOptionsFor(o, this.log));
    this.storage = storage;
    // Read the sink at each fsync: a metrics provider may install it after this.
    storage.fsyncObserver = (ms) => this.zk.metrics.observe('fsynctime', ms);
    const rec = await storage.recover(this.zk.tree);
    this.zk.restored(rec.sessions);
    this.initDynamicConfig();
    // A fresh directory gets its snapshot.0, as a standalone server's does. Its write and fsync
    // overlap listening and the election (a cold start waits for the slowest member to listen);
    // the disk queue waits for it, so it is on disk before anything this member makes durable.
    if (rec.snapshotZxid < 0) this.freshSnapshot = storage.snapshot(this.zk.tree, this.zk.durableSessions);
    const epochs = await storage.readEpochs();
    // Missing epoch files (a fresh or a standalone directory): the epoch of the last txn.
    const lastEpoch = epochOf(rec.lastZxid);
    const acceptedEpoch = Math.max(epochs.acceptedEpoch, lastEpoch);
    const currentEpoch = Math.max(epochs.currentEpoch, lastEpoch);
    this.writer = storage.createWriter();
    this.rollAfter = this.nextRollPoint();
    // The committed configuration (a reconfig in the log or snapshot may have changed the voters).
    const members = memberSpecs(this.dynamicConfig.current);
    const dc = this.dynamicConfig;
    this.core = new QuorumPeer(
      this.id,
      {
        members,
        tickMs: o.tickTimeMs,
        initLimit: this.ensemble.initLimit,
        syncLimit: this.ensemble.syncLimit,
        ...DEFAULT_CORE_CONFIG,
        reconfigOf: (t) => dc.membersOf(t),
        config: DynamicConfig.note(dc.current),
      },
      { acceptedEpoch, currentEpoch, log: rec.tail.map((t) => ({ zxid: t.zxid, data: t.payload })), snapshotZxid: rec.tailBase },
      Date.now(),
    );
    this.transport = new PeerTransport({
      myId: this.id,
      peers: this.ensemble.members.map((m) => ({ id: m.id, host: m.host, quorumPort: m.quorumPort, electionPort: m.electionPort })),
      frameBytesMax: this.start_.peerFrameBytesMax ?? 256 * 1024 * 1024,
      outputBytesMax: 512 * 1024 * 1024,
      reconnectMs: Math.min(500, o.tickTimeMs),
      log: this.log,
      onMessage: (from, msg) => this.feed(() => this.core.handle({ kind: 'message', from, msg, now: Date.now() })),
      onDisconnected: (peer) => this.feed(() => this.core.handle({ kind: 'disconnected', peer, now: Date.now() })),
      onConnected: (peer) => this.feed(() => this.core.handle({ kind: 'connected', peer, now: Date.now() })),
    });
    this.learnPeers(dc.current);
    await this.transport.start();
    await this.shell.start();
    this.showConfig();
    this.feed(() => this.core.start(Date.now()));
    // The core's timeouts are in ms: a fine tick makes elections and failover quick at any tickTime
    // (the election's finalize wait is 50 ms). A tick costs microseconds.
    this.timer = setInterval(() => this.onTick(), Math.max(5, Math.min(10, Math.floor(o.tickTimeMs / 2))));
    this.timer.unref();
  }

  private nextRollPoint(): number {
    const half = Math.max(1, Math.floor(this.opts.snapCount / 2));
    return half + Math.floor(Math.random() * half);
  }

  private onTick(): void {
    const now = Date.now();
    this.feed(() => this.core.handle({ kind: 'tick', now }));
    this.readOnly?.tick(now);
    // Learners: the sessions whose clients sent something (a ping counts) since the last report,
    // for the leader's expiry clock. A silent client is not reported, so its session expires.
    const touched = this.zk.touchedSinceReport;
    if (now - this.touchesReportedAt < TOUCH_REPORT_MS) return;
    this.touchesReportedAt = now;
    if (this.state !== 'leading' && this.zk.serving && this.core.leader !== undefined && touched.size > 0) {
      const leader = this.core.leader;
      const data = encodeTouches(touched);
      touched.clear();
      this.feed(() => this.core.sendHost(leader, data, Date.now()));
    }
  }

  // ------------------------------------------------------------------ the core's inbox

  private feed(f: () => Output[]): void {
    if (this.stopped) return;
    this.inbox.push(f);
    if (!this.busy) void this.pump();
  }

  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.inbox.length > 0 && !this.stopped) {
        const outs = this.inbox.shift()!();
        // Most outputs are handled at once; awaiting each batch would cost a promise per input.
        const rebuilding = this.run(outs);
        if (rebuilding) await rebuilding;
      }
    } catch (e) {
      this.zk.metrics.inc('unrecoverable_error_count');
      this.log.error({ error: (e as Error).message, stack: (e as Error).stack }, 'ensemble member failed; stopping it');
      this.failure ??= (e as Error).message;
      void this.stop();
    } finally {
      this.busy = false;
    }
  }

  /** Handles the core's outputs in order; returns a promise when one of them rebuilds the tree (the rest wait for it). */
  private run(outs: Output[], from = 0): Promise<void> | undefined {
    for (let k = from; k < outs.length; k++) {
      const o = outs[k]!;
      switch (o.kind) {
        case 'send': {
          let msg = o.msg;
          // LearnerHandler: how a learner was brought up to date.
          if (msg.t === 'diff' || msg.t === 'trunc') this.zk.metrics.inc('diff_count');
          else if (msg.t === 'snap') this.zk.metrics.inc('snap_count');
          if (msg.t === 'snap') msg = { ...msg, data: serializeSnapshot(this.zk.tree, this.zk.durableSessions) };
          this.transport.send(o.to, msg);
          break;
        }
        case 'persist':
          this.disk.push(o.p);
          if (!this.diskBusy) this.diskBusy = this.flushDisk();
          break;
        case 'commit': {
          if (this.state === 'leading') this.leaderCommitted(o.txn.zxid);
          if (this.leaderSync?.committed(o.txn.zxid)) break;
          const d = o.txn.data;
          const { txn } = decodeTxn(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
          if (this.state === 'leading') this.zk.applyTxn(txn);
          else {
            // Proposal time to commit here (Apache's commit_propagation_latency); not for txns replayed in a sync.
            if (this.core.serving) this.zk.metrics.observe('commit_propagation_latency', Date.now() - Number(txn.header.time));
            this.zk.applyCommitted(txn);
          }
          break;
        }
        case 'truncate':
          return this.rebuild(() => this.storage.truncateLogAfter(o.zxid)).then(() => this.run(outs, k + 1));
        case 'installSnapshot':
          return this.rebuild(() => this.storage.installSnapshot(o.zxid, o.data ?? new Uint8Array())).then(() => this.run(outs, k + 1));
        case 'role':
          this.onRole(o.state, o.serving);
          break;
        case 'forwarded':
          this.onForwarded(o.from, o.data);
          break;
        case 'syncDone': {
          const s = this.syncs.get(o.id);
          if (s) {
            this.syncs.delete(o.id);
            s.p.done = true;
            this.zk.drain(s.c);
          }
          break;
        }
        case 'configAdopted':
          this.configAdopted(o.config);
          break;
        case 'hostMessage': {
          const ids = decodeTouches(o.data);
          if (ids && this.state === 'leading') for (const id of ids) this.zk.sessions.touch(id, Date.now());
          break;
        }
      }
    }
  }

  /** TRUNC / SNAP: make the disk match the leader, then rebuild the tree from it. */
  private async rebuild(change: () => Promise<void>): Promise<void> {
    await this.drainDisk();
    await this.writer.close();
    await change();
    this.zk.tree.reset();
    const rec = await this.storage.recover(this.zk.tree);
    this.zk.durableSessions.clear();
    this.zk.restored(rec.sessions);
    // A leader's snapshot carries its /zookeeper/config; ours is this member's membership.
    this.dynamicConfig.initTree(this.zk.tree, Date.now());
    const current = this.dynamicConfig.current;
    this.configFiles?.committed(current);
    this.learnPeers(current);
    this.core.adoptConfiguration(memberSpecs(current), DynamicConfig.note(current));
    this.showConfig();
  }

  /**
   * `conf` and `srvr` print this.ensemble: it follows the committed configuration (the core
   * switches its voters itself; the transport adds the addresses of new members, learnPeers).
   */
  private showConfig(): void {
    this.ensemble.members = this.dynamicConfig.current.members;
    this.ensemble.version = this.dynamicConfig.current.version;
  }

  /** /zookeeper/config and reconfig (quorum/reconfigHost.ts); `conf` prints this.ensemble, kept current. */
  private initDynamicConfig(): void {
    const zk = this.zk;
    const dc = new DynamicConfig(
      this.ensemble,
      { skipAcl: this.opts.skipAcl, standaloneEnabled: this.ensemble.standaloneEnabled },
      { syncedIds: () => this.core.syncedVoters(), configAcl: () => zk.tree.aclAt(zk.tree.find(CONFIG_NODE)) },
      this.log,
    );
    this.dynamicConfig = dc;
    const files = this.dynamicConfigFiles();
    this.configFiles = files;
    dc.initTree(zk.tree, Date.now());
    files?.committed(dc.current);
    zk.onReconfigApplied = (txn) => {
      dc.applied(txn);
      files?.committed(dc.current);
      this.learnPeers(dc.current);
      this.showConfig();
      this.log.info({ version: dc.current.version.toString(16), zxid: zxidHex(txn.header.zxid) }, 'reconfig committed');
    };
  }

  /** The transport connects to members it did not know (a reconfig added them). */
  private learnPeers(qv: QuorumVerifierConfig): void {
    for (const m of qv.members) this.transport?.addPeer({ id: m.id, host: m.host, quorumPort: m.quorumPort, electionPort: m.electionPort });
  }

  /** The core took a committed configuration from an election or its leader (QuorumPeer.processReconfig). */
  private configAdopted(note: ConfigNote): void {
    const qv = this.dynamicConfig.adopted(note, this.zk.tree, Date.now());
    if (!qv) return;
    this.configFiles?.committed(qv);
    this.learnPeers(qv);
    this.showConfig();
    this.log.info({ version: qv.version.toString(16) }, 'configuration adopted from an election notification or the leader');
  }

  /** zoo.cfg.dynamic.<version> beside the zoo.cfg this member was started from, with reconfigEnabled (as Apache). */
  private dynamicConfigFiles(): DynamicConfigFiles | undefined {
    const e = this.ensemble;
    if (!this.opts.reconfigEnabled || e.configPath === undefined) return undefined;
    const files = new DynamicConfigFiles(e.configPath, e.myId, e.version, this.log);
    if (e.dynamicConfigFile === undefined) files.backup();
    return files;
  }

  // ------------------------------------------------------------------ disk

  private async flushDisk(): Promise<void> {
    try {
      if (this.freshSnapshot) {
        await this.freshSnapshot;
        this.freshSnapshot = undefined;
      }
      while (this.disk.length > 0) {
        const batch = this.disk;
        this.disk = [];
        let lastSeq = 0;
        let entries: Uint8Array[] = [];
        let firstZxid = -1;
        const writeEntries = async (): Promise<void> => {
          if (entries.length === 0) return;
          const size = entries.reduce((n, e) => n + e.length + ENTRY_OVERHEAD_BYTES, 0);
          const out = Buffer.allocUnsafe(size);
          let at = 0;
          for (const e of entries) at = frameEntry(out, at, e);
          await this.writer.append(firstZxid, out);
          this.txnsSinceRoll += entries.length;
          entries = [];
          firstZxid = -1;
        };
        for (const p of batch) {
          for (const t of p.txns ?? []) {
            if (firstZxid < 0) firstZxid = t.zxid;
            entries.push(t.data);
          }
          if (p.acceptedEpoch !== undefined || p.currentEpoch !== undefined) {
            await writeEntries();
            if (p.acceptedEpoch !== undefined) await this.storage.writeEpoch('acceptedEpoch', p.acceptedEpoch);
            if (p.currentEpoch !== undefined) await this.storage.writeEpoch('currentEpoch', p.currentEpoch);
          }
          lastSeq = p.seq;
        }
        await writeEntries();
        if (this.txnsSinceRoll >= this.rollAfter) {
          this.txnsSinceRoll = 0;
          this.rollAfter = this.nextRollPoint();
          this.writer.roll();
          void this.storage.snapshot(this.zk.tree, this.zk.durableSessions);
        }
        const seq = lastSeq;
        this.feed(() => this.core.handle({ kind: 'persisted', seq, now: Date.now() }));
      }
    } catch (e) {
      // Nothing more can be made durable here: leave the ensemble rather than ack what is lost.
      this.zk.metrics.inc('unrecoverable_error_count');
      this.log.error({ error: (e as Error).message }, 'cannot write the transaction log; this member stops');
      this.failure ??= `cannot write the transaction log: ${(e as Error).message}`;
      void this.stop();
    } finally {
      this.diskBusy = undefined;
    }
  }

  private async drainDisk(): Promise<void> {
    await this.freshSnapshot;
    while (this.diskBusy) await this.diskBusy;
    if (this.disk.length > 0) {
      this.diskBusy = this.flushDisk();
      await this.diskBusy;
    }
  }

  // ------------------------------------------------------------------ roles

  private onRole(state: PeerState, serving: boolean): void {
    const zk = this.zk;
    this.log.debug({ state, serving, leader: this.core.leader, epoch: this.core.currentEpoch }, 'role');
    this.reportRole(state, serving);
    this.readOnly?.onRole(state, Date.now());
    this.proposedAt.clear();
    this.state = state;
    this.shell.mode = serving ? (state === 'leading' ? 'leader' : state === 'following' ? 'follower' : 'observer') : 'looking';
    // Whatever waited on the old role will not be answered by it.
    this.leaderSync?.fail(`this server is no longer the leader`);
    this.leaderSync = undefined;
    for (const { c } of this.syncs.values()) c.close(true);
    this.syncs.clear();
    this.remote.clear();
    zk.leaderLink = undefined;
    zk.reconfigPrep = undefined;
    zk.expiresSessions = false;
    zk.sync = new NotServingSync();
    zk.serving = serving;
    // Local sessions do not outlive the role they were created in (Apache builds new trackers).
    zk.localSessions?.dropAll();
    if (!serving) {
      // Clients must go elsewhere until this member is in sync again.
      for (const c of [...zk.conns]) {
        zk.removeConnection(c);
        c.close(true);
      }
      return;
    }
    if (state === 'leading') {
      this.leaderSince = Date.now();
      zk.resetPrep();
      zk.prep.lastZxid = this.core.nextZxid - 1;
      this.leaderSync = new ZabLeaderSync(this);
      zk.sync = this.leaderSync;
      zk.expiresSessions = true;
      this.dynamicConfig.resetLastSeen();
      zk.reconfigPrep = this.dynamicConfig;
      // Every session gets a full timeout from now to show it is alive (as after a restart).
      const now = Date.now();
      for (const [id, t] of zk.durableSessions) zk.sessions.add(id, t, now);
    } else {
      zk.leaderLink = this;
    }
    // In sync with the ensemble: a snapshot, so a restart never depends on logs of old epochs alone.
    // Not if the last snapshot this member wrote holds this very state (a fresh ensemble's
    // snapshot.0): a copy adds nothing, and its fsyncs would compete with the first client
    // requests' (a new session is a txn) for the disk.
    if (this.storage.lastSnapshot?.zxid !== zk.tree.lastProcessedZxid) void this.storage.snapshot(zk.tree, zk.durableSessions);
    this.log.info({ state, leader: this.core.leader, zxid: zxidHex(zk.lastZxid) }, 'serving');
  }

  /** Operator-facing lines and metrics of a role change, in Apache's words where it has them. */
  private reportRole(state: PeerState, serving: boolean): void {
    const now = Date.now();
    const prev = this.state;
    const leader = this.core.leader;
    const zxid = zxidHex(this.zk.lastZxid);
    if (state === 'looking') {
      this.zk.metrics.inc('looking_count');
      this.lookingSince = now;
      this.electedAt = undefined;
      if (prev !== 'looking' || this.servingBefore) {
        // Quorum loss: a leader that cannot hear a quorum, or a learner that lost its leader.
        const why =
          prev === 'leading'
            ? 'this leader no longer hears a quorum of followers'
            : `the connection to leader server.${this.lastLeader ?? '?'} is lost`;
        this.log.warn(
          { previousState: prev, leader: this.lastLeader, myid: this.id, zxid, epoch: this.core.currentEpoch },
          `quorum lost: ${why}; Peer state changed: looking`,
        );
      } else {
        this.log.info({ myid: this.id, zxid }, 'Peer state changed: looking');
      }
    } else if (this.electedAt === undefined) {
      // The election is over (Apache: "LEADING - LEADER ELECTION TOOK - <n> MS").
      this.electedAt = now;
      this.lastLeader = leader;
      const tookMs = now - this.lookingSince;
      this.zk.metrics.observe('election_time', tookMs);
      this.log.info(
        { electionMs: tookMs, leader, myid: this.id, zxid, epoch: this.core.currentEpoch },
        `${state.toUpperCase()} - LEADER ELECTION TOOK - ${tookMs} MS (leader ${leader}, last zxid ${zxid})`,
      );
    }
    if (serving && !this.servingBefore && state !== 'leading' && this.electedAt !== undefined) {
      this.zk.metrics.observe('follower_sync_time', now - this.electedAt);
    }
    if (serving) this.log.info({ myid: this.id, leader, zxid }, `Peer state changed: ${state} - broadcast`);
    this.servingBefore = serving;
  }

  /** Leader bookkeeping of one committed proposal (Leader.commit / tryToCommit). */
  private leaderCommitted(zxid: number): void {
    this.zk.metrics.inc('commit_count');
    const t0 = this.proposedAt.get(zxid);
    if (t0 !== undefined) {
      this.proposedAt.delete(zxid);
      const ms = Date.now() - t0;
      this.zk.metrics.observe('quorum_ack_latency', ms);
      // On the leader a proposal commits when its quorum acked.
      this.zk.metrics.observe('commit_propagation_latency', ms);
    }
  }

  /** Leader: hands a prepped txn to consensus. */
  propose(txn: Txn): void {
    const data = encodeTxn(txn);
    this.feed(() => {
      // Leadership may have ended since prep; the waiter was failed with it.
      if (this.state !== 'leading' || !this.core.serving) return [];
      const now = Date.now();
      this.zk.metrics.inc('proposal_count');
      if (this.proposedAt.size < TIMED_PROPOSALS_MAX) this.proposedAt.set(txn.header.zxid, now);
      return this.core.propose({ zxid: txn.header.zxid, data }, now);
    });
  }

  private onForwarded(from: PeerId, data: Uint8Array): void {
    if (this.state !== 'leading' || !this.leaderSync) return;
    let f: Forwarded;
    try {
      f = decodeForwarded(data);
    } catch (e) {
      this.log.warn({ peer: from, error: (e as Error).message }, 'malformed forwarded request ignored');
      return;
    }
    const zk = this.zk;
    if (f.kind === 'createSession') {
      zk.sessions.add(f.sessionId, f.timeOutMs, Date.now());
      const txn = zk.prep.prepareRaw(
        OpCode.createSession,
        { kind: 'createSession', op: OpCode.createSession, timeOut: f.timeOutMs },
        f.sessionId,
        0,
        Date.now(),
      );
      zk.sync.submit(txn, (err) => {
        if (!err) zk.applyTxn(txn);
      });
      return;
    }
    if (zk.localSessions && !zk.sessions.sessions.has(f.sessionId) && zk.localSessions.acceptsUnknown(f.sessionId)) {
      // The learner's local session: a stand-in for this write alone, none kept.
      const rc = new RemoteSessionConn(`learner ${from}`, f.sessionId);
      rc.authIds = f.authIds;
      zk.localSessions.admitRemote(rc);
      zk.submit(rc, f.frame);
      return;
    }
    let ofLearner = this.remote.get(from);
    if (!ofLearner) {
      ofLearner = new Map();
      this.remote.set(from, ofLearner);
    }
    let rc = ofLearner.get(f.sessionId);
    if (!rc) {
      rc = new RemoteSessionConn(`learner ${from}`, f.sessionId);
      ofLearner.set(f.sessionId, rc);
    }
    rc.authIds = f.authIds;
    zk.submit(rc, f.frame);
    // Closed sessions' stand-ins go once their queue is empty.
    if (!zk.sessions.sessions.has(f.sessionId) && rc.queue.length === 0) ofLearner.delete(f.sessionId);
  }

  // ------------------------------------------------------------------ LeaderLink (learners)

  forwardWrite(c: ClientConn, frame: Buffer): void {
    const data = encodeForwarded({ kind: 'write', sessionId: c.sessionId, authIds: c.authIds, frame: Buffer.from(frame) });
    this.feed(() => this.core.forward(data, Date.now()));
  }

  forwardCreateSession(sessionId: bigint, timeOutMs: number): void {
    const data = encodeForwarded({ kind: 'createSession', sessionId, timeOutMs });
    this.feed(() => this.core.forward(data, Date.now()));
  }

  sync(c: ClientConn, p: Pending): void {
    const id = ++this.syncSeq;
    this.syncs.set(id, { c, p });
    this.feed(() => this.core.sync(id, Date.now()));
  }

  // ------------------------------------------------------------------ lifecycle

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    this.leaderSync?.fail('server stopped');
    await this.shell.stop();
    await this.transport?.close();
    await this.drainDisk().catch(() => {});
    await this.writer?.close().catch(() => {});
    await this.storage?.close();
    this.resolveStopped();
  }
}

/** The sync stage while not serving (or on learners): nothing is written through it. */
class NotServingSync implements SyncStage {
  readonly unavailableReason = 'this server is not serving writes';
  submit(_txn: Txn | null, done: (err?: Error) => void): void {
    const err = new Error(this.unavailableReason);
    queueMicrotask(() => done(err));
  }
  async close(): Promise<void> {}
}
