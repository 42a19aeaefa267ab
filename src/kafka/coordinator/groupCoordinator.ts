// The thin shell around the pure group coordinator: decoded request bodies in, response bodies
// out. It owns one timer (set to the core's next deadline, unref'd), turns the core's appends
// into OffsetsStore calls and its tokens into promises, and shapes bodies per API version.

import { randomUUID } from 'node:crypto';
import type { Msg } from '../protocol/schema.js';
import { type CommitInput, type FetchGroupResult, GroupCoordinatorCore } from './core.js';
import { ErrorCode as E, type Token } from './errors.js';
import type { Protocol } from './group.js';
import type { GroupCoordinatorConfig } from './membership.js';

export type { GroupCoordinatorConfig } from './membership.js';
export { partitionFor } from './partitionFor.js';

export interface OffsetsStore {
  /** Resolves when the records are durable (acks=all on the __consumer_offsets partition). */
  append(partition: number, records: { key: Buffer; value: Buffer | null }[]): Promise<void>;
}

export interface CoordinatorLogger {
  // biome-ignore lint/suspicious/noExplicitAny: accepts pino's overloaded log functions
  warn(...args: any[]): void;
}

const EMPTY = Buffer.alloc(0);

export class GroupCoordinator {
  private readonly core: GroupCoordinatorCore;
  private readonly store: OffsetsStore;
  private readonly now: () => number;
  private readonly logger: CoordinatorLogger | undefined;
  private readonly waiting = new Map<Token, (body: Msg) => void>();
  private nextToken = 1;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(o: {
    config: GroupCoordinatorConfig;
    store: OffsetsStore;
    now?: () => number;
    newMemberId?: (prefix: string) => string;
    logger?: CoordinatorLogger;
  }) {
    this.store = o.store;
    this.now = o.now ?? Date.now;
    this.logger = o.logger;
    this.core = new GroupCoordinatorCore(o.config, o.newMemberId ?? ((prefix) => `${prefix}-${randomUUID()}`));
  }

  // ---- plumbing -------------------------------------------------------------------------

  private park(): { token: Token; result: Promise<Msg> } {
    const token = this.nextToken++;
    const result = new Promise<Msg>((resolve) => this.waiting.set(token, resolve));
    return { token, result };
  }

  private flush(): void {
    const out = this.core.takeOutput();
    for (const r of out.responses) {
      const resolve = this.waiting.get(r.token);
      if (!resolve) continue;
      this.waiting.delete(r.token);
      resolve(r.body);
    }
    for (const a of out.appends) {
      this.store.append(a.partition, a.records).then(
        () => this.afterAppend(a.id, true),
        (err: unknown) => {
          this.logger?.warn({ err, partition: a.partition }, 'group coordinator append failed');
          this.afterAppend(a.id, false);
        },
      );
    }
    this.schedule();
  }

  private afterAppend(id: number, ok: boolean): void {
    if (this.closed) return;
    this.core.appendDone(id, ok, this.now());
    this.flush();
  }

  private schedule(): void {
    if (this.closed) return;
    const at = this.core.nextDeadline() ?? Number.POSITIVE_INFINITY;
    if (at === this.timerAt && this.timer !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    // setTimeout's delay is an int32 of ms; longer waits just fire early and reschedule.
    const delayMs = Math.min(Math.max(0, at - this.now()), 2_000_000_000);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.core.tick(this.now());
      this.flush();
    }, delayMs);
    this.timer.unref();
  }

  private run(step: (token: Token, now: number) => void): Promise<Msg> {
    if (this.closed) return Promise.resolve({ errorCode: E.COORDINATOR_NOT_AVAILABLE });
    const { token, result } = this.park();
    step(token, this.now());
    this.flush();
    return result;
  }

  // ---- APIs -----------------------------------------------------------------------------

  async joinGroup(req: Msg, version: number, client: { clientId: string; clientHost: string }): Promise<Msg> {
    if (this.closed) return { throttleTimeMs: 0, ...closedJoin(req.memberId ?? '', version) };
    const protocols: Protocol[] = ((req.protocols ?? []) as Msg[]).map((p) => ({
      name: p.name as string,
      metadata: Buffer.from((p.metadata as Buffer | null) ?? EMPTY),
    }));
    const body = await this.run((token, now) =>
      this.core.join(token, now, {
        groupId: req.groupId,
        memberId: req.memberId ?? '',
        groupInstanceId: version >= 5 ? (req.groupInstanceId ?? null) : null,
        sessionTimeoutMs: req.sessionTimeoutMs,
        // JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalanceTimeoutMs: version >= 1 && req.rebalanceTimeoutMs >= 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
        protocolType: req.protocolType ?? '',
        protocols,
        clientId: client.clientId,
        clientHost: client.clientHost,
        requireKnownMemberId: version >= 4,
        supportSkipAssignment: version >= 9,
      }),
    );
    return shapeJoin(body, version);
  }

  async syncGroup(req: Msg, version: number): Promise<Msg> {
    const body = await this.run((token, now) =>
      this.core.sync(token, now, {
        groupId: req.groupId,
        generationId: req.generationId,
        memberId: req.memberId,
        groupInstanceId: version >= 3 ? (req.groupInstanceId ?? null) : null,
        protocolType: version >= 5 ? (req.protocolType ?? null) : null,
        protocolName: version >= 5 ? (req.protocolName ?? null) : null,
        assignments: ((req.assignments ?? []) as Msg[]).map((a) => ({
          memberId: a.memberId as string,
          assignment: Buffer.from((a.assignment as Buffer | null) ?? EMPTY),
        })),
      }),
    );
    return {
      throttleTimeMs: 0,
      errorCode: body.errorCode,
      protocolType: body.protocolType ?? null,
      protocolName: body.protocolName ?? null,
      assignment: body.assignment ?? EMPTY,
    };
  }

  async heartbeat(req: Msg, version: number): Promise<Msg> {
    if (this.closed) return { throttleTimeMs: 0, errorCode: E.COORDINATOR_NOT_AVAILABLE };
    const errorCode = this.core.heartbeat(
      this.now(),
      req.groupId,
      req.memberId,
      version >= 3 ? (req.groupInstanceId ?? null) : null,
      req.generationId,
    );
    this.flush();
    return { throttleTimeMs: 0, errorCode };
  }

  async leaveGroup(req: Msg, version: number): Promise<Msg> {
    if (this.closed) return { throttleTimeMs: 0, errorCode: E.COORDINATOR_NOT_AVAILABLE, members: [] };
    const refs =
      version >= 3
        ? ((req.members ?? []) as Msg[]).map((m) => ({
            memberId: m.memberId as string,
            groupInstanceId: (m.groupInstanceId ?? null) as string | null,
          }))
        : [{ memberId: req.memberId as string, groupInstanceId: null }];
    const r = this.core.leave(this.now(), req.groupId, refs);
    this.flush();
    if (version >= 3) return { throttleTimeMs: 0, errorCode: r.errorCode, members: r.members };
    // Before v3 one member leaves and its error is the response's error.
    const errorCode = r.errorCode !== E.NONE ? r.errorCode : (r.members[0]?.errorCode ?? E.NONE);
    return { throttleTimeMs: 0, errorCode };
  }

  async offsetCommit(req: Msg, version: number): Promise<Msg> {
    const input: CommitInput = {
      groupId: req.groupId,
      generationId: version >= 1 ? (req.generationIdOrMemberEpoch ?? req.generationId ?? -1) : -1,
      memberId: version >= 1 ? (req.memberId ?? '') : '',
      groupInstanceId: version >= 7 ? (req.groupInstanceId ?? null) : null,
      retentionTimeMs: version >= 2 && version <= 4 ? (req.retentionTimeMs ?? -1) : -1,
      topics: ((req.topics ?? []) as Msg[]).map((t) => ({
        name: t.name as string,
        partitions: ((t.partitions ?? []) as Msg[]).map((p) => ({
          partitionIndex: p.partitionIndex as number,
          committedOffset: p.committedOffset as number,
          committedLeaderEpoch: version >= 6 ? (p.committedLeaderEpoch ?? -1) : -1,
          commitTimestamp: version === 1 ? (p.commitTimestamp ?? -1) : -1,
          committedMetadata: (p.committedMetadata ?? null) as string | null,
        })),
      })),
    };
    const body = this.closed ? null : await this.run((token, now) => this.core.commit(token, now, input));
    if (body === null || body.topics === undefined) {
      return {
        throttleTimeMs: 0,
        topics: input.topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: E.COORDINATOR_NOT_AVAILABLE })),
        })),
      };
    }
    return { throttleTimeMs: 0, topics: body.topics };
  }

  async offsetFetch(req: Msg, version: number): Promise<Msg> {
    const fetchOne = (groupId: string, topics: Msg[] | null): FetchGroupResult => {
      if (this.closed) return { groupId, topics: [], errorCode: E.COORDINATOR_NOT_AVAILABLE };
      return this.core.fetch({
        groupId,
        topics:
          topics === null
            ? null
            : topics.map((t) => ({ name: t.name as string, partitionIndexes: (t.partitionIndexes ?? []) as number[] })),
      });
    };
    if (version >= 8) {
      const groups = ((req.groups ?? []) as Msg[]).map((g) => fetchOne(g.groupId, (g.topics ?? null) as Msg[] | null));
      return { throttleTimeMs: 0, groups };
    }
    const r = fetchOne(req.groupId, (req.topics ?? null) as Msg[] | null);
    if (version < 2 && r.errorCode !== E.NONE) {
      // v0-1 have no top-level error: each requested partition carries it.
      const topics = ((req.topics ?? []) as Msg[]).map((t) => ({
        name: t.name,
        partitions: ((t.partitionIndexes ?? []) as number[]).map((p) => ({
          partitionIndex: p,
          committedOffset: -1,
          committedLeaderEpoch: -1,
          metadata: '',
          errorCode: r.errorCode,
        })),
      }));
      return { throttleTimeMs: 0, topics, errorCode: r.errorCode };
    }
    return { throttleTimeMs: 0, topics: r.topics, errorCode: r.errorCode };
  }

  describeGroups(req: Msg, version: number): Msg {
    const include = version >= 3 && req.includeAuthorizedOperations === true;
    const groups = ((req.groups ?? []) as string[]).map((id) =>
      this.closed
        ? { errorCode: E.COORDINATOR_NOT_AVAILABLE, groupId: id, groupState: '', protocolType: '', protocolData: '', members: [] }
        : this.core.describe(id, include),
    );
    return { throttleTimeMs: 0, groups };
  }

  listGroups(req: Msg, version: number): Msg {
    if (this.closed) return { throttleTimeMs: 0, errorCode: E.COORDINATOR_NOT_AVAILABLE, groups: [] };
    const states = version >= 4 ? ((req.statesFilter ?? []) as string[]) : [];
    let groups = this.core.list(states);
    const types = version >= 5 ? ((req.typesFilter ?? []) as string[]).map((t) => t.toLowerCase()) : [];
    if (types.length > 0 && !types.includes('classic')) groups = [];
    return { throttleTimeMs: 0, errorCode: E.NONE, groups };
  }

  async deleteGroups(req: Msg, _version: number): Promise<Msg> {
    const ids = (req.groupsNames ?? req.groupNames ?? []) as string[];
    if (this.closed) return { throttleTimeMs: 0, results: ids.map((groupId) => ({ groupId, errorCode: E.COORDINATOR_NOT_AVAILABLE })) };
    const body = await this.run((token, now) => this.core.deleteGroups(token, now, ids));
    return { throttleTimeMs: 0, results: body.results ?? ids.map((groupId) => ({ groupId, errorCode: E.COORDINATOR_NOT_AVAILABLE })) };
  }

  async offsetDelete(req: Msg, _version: number): Promise<Msg> {
    const topics = ((req.topics ?? []) as Msg[]).map((t) => ({
      name: t.name as string,
      partitions: ((t.partitions ?? []) as Msg[]).map((p) => ({ partitionIndex: p.partitionIndex as number })),
    }));
    const body = await this.run((token, now) => this.core.offsetDelete(token, now, req.groupId, topics));
    return { errorCode: body.errorCode, throttleTimeMs: 0, topics: body.topics ?? [] };
  }

  loadPartition(partition: number, records: Iterable<{ key: Buffer; value: Buffer | null }>): void {
    this.core.loadPartition(partition, records, this.now());
    this.flush();
  }

  unloadPartition(partition: number): void {
    this.core.unloadPartition(partition);
    this.flush();
  }

  ownsGroup(groupId: string): boolean {
    return this.core.owns(groupId);
  }

  close(): void {
    if (this.closed) return;
    this.core.failAllParked(E.COORDINATOR_NOT_AVAILABLE);
    this.flush();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    // Anything still waiting (e.g. on an append) is answered now rather than never.
    for (const resolve of this.waiting.values()) resolve({ errorCode: E.COORDINATOR_NOT_AVAILABLE });
    this.waiting.clear();
  }
}

function closedJoin(memberId: string, version: number): Msg {
  return shapeJoin(
    {
      errorCode: E.COORDINATOR_NOT_AVAILABLE,
      generationId: -1,
      protocolType: null,
      protocolName: null,
      leader: '',
      skipAssignment: false,
      memberId,
      members: [],
    },
    version,
  );
}

function shapeJoin(body: Msg, version: number): Msg {
  if (body.generationId === undefined) return closedJoin(body.memberId ?? '', version);
  return {
    throttleTimeMs: 0,
    ...body,
    // Before v7 the protocol name is not nullable: Kafka sends an empty string.
    protocolName: version < 7 ? (body.protocolName ?? '') : body.protocolName,
  };
}
