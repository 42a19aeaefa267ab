// An in-process ZooKeeper ensemble on loopback for tests (ours and users'), like Curator's
// TestingCluster: N members with real sockets and data directories, stop/restart one, cut and
// heal the links between two members, find the leader. Each member is configured through a real
// zoo.cfg + myid, exactly as `clustergenie zookeeper --config` would read them.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadZooCfg } from '../zookeeper/config.js';
import { EnsembleMember } from '../zookeeper/quorum/ensemble.js';
import type { Logger } from '../util/log.js';
import { writeEnsembleLayout, type EnsembleLayoutOptions, type MemberLayout } from './ensembleLayout.js';

export interface TestingClusterOptions
  extends Pick<EnsembleLayoutOptions, 'size' | 'observers' | 'tickTimeMs' | 'initLimit' | 'syncLimit' | 'forceSync'> {
  /** Extra zoo.cfg lines for every member. */
  extraConfig?: Record<string, string>;
  logger?: Logger;
}

export interface TestingMember extends MemberLayout {
  /** The running member, or undefined while stopped. */
  member: EnsembleMember | undefined;
}

/** Starts tried when a picked port is taken by someone else before the member binds it. */
const portRaceAttemptsMax = 3;

export class ZooKeeperTestingCluster {
  private constructor(
    readonly dir: string,
    readonly members: TestingMember[],
    private readonly logger: Logger | undefined,
  ) {}

  static async start(opts: TestingClusterOptions = {}): Promise<ZooKeeperTestingCluster> {
    // Ports are picked free, then bound by the members a moment later; another process (tests
    // run in parallel) can take one in between. Such a start is retried on fresh ports.
    for (let attempt = 1; ; attempt++) {
      const dir = await mkdtemp(join(tmpdir(), 'cg-zk-cluster-'));
      // Unset options take writeEnsembleLayout's defaults.
      const { size, observers, tickTimeMs, initLimit, syncLimit, forceSync, extraConfig } = opts;
      const layout = await writeEnsembleLayout(dir, { size, observers, tickTimeMs, initLimit, syncLimit, forceSync, extraConfig });
      const members: TestingMember[] = layout.map((m) => ({ ...m, member: undefined }));
      const cluster = new ZooKeeperTestingCluster(dir, members, opts.logger);
      try {
        await Promise.all(members.map((m) => cluster.startMember(m.id)));
        return cluster;
      } catch (e) {
        await cluster.close();
        const portTaken = (e as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!portTaken || attempt >= portRaceAttemptsMax) throw e;
      }
    }
  }

  /** `host:port,...` of every member (clients fail over between them). */
  get connectString(): string {
    return this.members.map((m) => `127.0.0.1:${m.clientPort}`).join(',');
  }

  get(id: number): TestingMember {
    const m = this.members.find((x) => x.id === id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  async startMember(id: number): Promise<void> {
    const m = this.get(id);
    if (m.member) return;
    const { options } = loadZooCfg(m.configPath);
    const member = new EnsembleMember(options, this.logger ? { logger: this.logger } : {});
    await member.start();
    m.member = member;
  }

  /** A clean stop (sockets closed, files flushed). */
  async stopMember(id: number): Promise<void> {
    const m = this.get(id);
    const member = m.member;
    m.member = undefined;
    await member?.stop();
  }

  async restartMember(id: number): Promise<void> {
    await this.stopMember(id);
    await this.startMember(id);
  }

  /** The id of the member serving as leader, if any. */
  leader(): number | undefined {
    return this.members.find((m) => m.member?.state === 'leading' && m.member.shell.core.serving)?.id;
  }

  /** Expires a client session now, as if its timeout had passed (done by the leader). */
  expireSession(sessionId: bigint): void {
    const leader = this.leader();
    if (leader === undefined) throw new Error('no leader to expire the session');
    if (!this.get(leader).member!.shell.core.expireSession(sessionId)) throw new Error(`session 0x${sessionId.toString(16)} is not live`);
  }

  /** Members currently serving clients. */
  serving(): number[] {
    return this.members.filter((m) => m.member?.shell.core.serving).map((m) => m.id);
  }

  /** Breaks (and keeps broken) the links between two members. */
  cut(a: number, b: number): void {
    this.get(a).member?.transport.cut(b);
    this.get(b).member?.transport.cut(a);
  }

  heal(a: number, b: number): void {
    this.get(a).member?.transport.heal(b);
    this.get(b).member?.transport.heal(a);
  }

  /** Cuts `group` off from everyone else. */
  partition(group: number[]): void {
    const inside = new Set(group);
    for (const a of this.members)
      for (const b of this.members) if (a.id < b.id && inside.has(a.id) !== inside.has(b.id)) this.cut(a.id, b.id);
  }

  healAll(): void {
    for (const a of this.members) for (const b of this.members) if (a.id < b.id) this.heal(a.id, b.id);
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => this.stopMember(m.id)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
