// Kafka endpoints through the Admin API and the raw Fetch of @platformatic/kafka: topic detail
// (partitions with offsets, configs), create/alter configs/delete, message pages and live tails,
// produce, and consumer groups with per-partition lag and offset resets (Empty groups only).

import type { Admin, Consumer, Producer } from '@platformatic/kafka';
import type { FastifyInstance } from 'fastify';
import type {
  DashboardView,
  GroupDetail,
  GroupOffset,
  OffsetReset,
  PartitionDetail,
  ProduceRequest,
  TopicCreate,
  TopicDetail,
} from '../api.js';
import { ApiFailure, badRequest, notFound } from './errors.js';
import { listOffsets, pageLimitMax, readPage, type TailHub, topicReader } from './messages.js';
import { toController } from '../../genie/kafka.js';
import { TopicMissingError } from '../../genie/topicReader.js';
import type { SharedReads } from './sharedReads.js';
import type { SseHub } from './sse.js';

const TOPIC_RESOURCE = 2;
const CONFIG_SET = 0;
const CONFIG_DELETE = 1;
/** ConfigSource values that mean "not overridden for this topic". */
const DEFAULT_SOURCES = new Set([0, 4, 5]);
/** A topic name as Kafka accepts it. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** Produced value bytes accepted from the page. */
export const produceValueBytesMax = 1024 * 1024;

function topicName(params: unknown): string {
  const n = (params as { name?: unknown }).name;
  if (typeof n !== 'string' || !TOPIC_NAME.test(n)) throw badRequest('a topic name is 1-249 characters of A-Z a-z 0-9 . _ -');
  return n;
}

function intParam(v: unknown, what: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw badRequest(`${what} must be an integer`);
  return n;
}

export interface KafkaDeps {
  admin: Admin;
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  tails: TailHub;
  hub: SseHub;
  /** The current view (group lists come from it, not from a per-request round). */
  view: () => DashboardView | undefined;
  /** Topic and group details shared by all tabs for one refresh period. */
  shared: SharedReads;
}

async function topicDetail(d: KafkaDeps, name: string): Promise<TopicDetail> {
  const md = await d.admin.metadata({ topics: [name], forceUpdate: true });
  const t = md.topics.get(name);
  if (!t) throw notFound(`topic ${name} does not exist`);
  const ids = t.partitions.map((_, i) => i);
  const [earliest, latest, configs] = await Promise.all([
    listOffsets(d.admin, name, ids, -2n),
    listOffsets(d.admin, name, ids, -1n),
    d.admin.describeConfigs({ resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name }] }),
  ]);
  const partitions: PartitionDetail[] = t.partitions.map((p, i) => {
    const out: PartitionDetail = { partition: i, leader: p.leader, leaderEpoch: p.leaderEpoch, replicas: p.replicas, isr: p.isr };
    const lo = earliest.get(i);
    const hi = latest.get(i);
    if (lo !== undefined) out.logStartOffset = Number(lo);
    if (hi !== undefined) {
      out.logEndOffset = Number(hi);
      out.highWatermark = Number(hi);
    }
    return out;
  });
  const groups = (d.view()?.groups ?? []).filter((g) => g.topics.includes(name)).map((g) => g.id);
  return {
    name,
    partitions,
    configs: (configs[0]?.configs ?? [])
      .map((c) => ({
        name: c.name,
        value: c.isSensitive ? null : (c.value ?? null),
        isDefault: DEFAULT_SOURCES.has(c.configSource),
        readOnly: c.readOnly,
        sensitive: c.isSensitive,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
    groups,
  };
}

async function groupDetail(admin: Admin, id: string): Promise<GroupDetail> {
  const [described, committed] = await Promise.all([
    admin.describeGroups({ groups: [id] }),
    admin.listConsumerGroupOffsets({ groups: [id] }),
  ]);
  const g = described.get(id);
  if (!g || String(g.state).toUpperCase() === 'DEAD') {
    const hasOffsets = (committed[0]?.topics ?? []).length > 0;
    if (!hasOffsets) throw notFound(`consumer group ${id} does not exist`);
  }
  const offsets: GroupOffset[] = [];
  for (const t of committed[0]?.topics ?? []) {
    for (const p of t.partitions) {
      const c = Number(p.committedOffset);
      if (c >= 0) offsets.push({ topic: t.name, partition: p.partitionIndex, committed: c });
    }
  }
  const byTopic = new Map<string, GroupOffset[]>();
  for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o]);
  const known = new Set(await admin.listTopics({ includeInternals: true }));
  await Promise.all(
    [...byTopic].map(async ([topic, list]) => {
      if (!known.has(topic)) return;
      const ends = await listOffsets(
        admin,
        topic,
        list.map((o) => o.partition),
        -1n,
      );
      for (const o of list) {
        const e = ends.get(o.partition);
        if (e !== undefined) {
          o.logEndOffset = Number(e);
          o.lag = Math.max(0, Number(e) - o.committed);
        }
      }
    }),
  );
  offsets.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  return {
    id,
    state: String(g?.state ?? 'EMPTY'),
    protocolType: g?.protocolType ?? '',
    protocol: g?.protocol ?? '',
    members: [...(g?.members.values() ?? [])].map((m) => ({
      memberId: m.id,
      clientId: m.clientId,
      host: m.clientHost,
      assignments: [...(m.assignments?.entries() ?? [])].map(([topic, a]) => ({ topic, partitions: [...a.partitions] })),
    })),
    offsets,
  };
}

async function resetOffsets(admin: Admin, id: string, r: Partial<OffsetReset>): Promise<GroupOffset[]> {
  if (typeof r.topic !== 'string' || !TOPIC_NAME.test(r.topic)) throw badRequest('topic must be a topic name');
  const topic = r.topic;
  const g = (await admin.describeGroups({ groups: [id] })).get(id);
  const state = String(g?.state ?? 'EMPTY').toUpperCase();
  if (g && g.members.size > 0)
    throw new ApiFailure(409, 'GROUP_NOT_EMPTY', `group ${id} is ${state} with ${g.members.size} members; stop its consumers first`);
  if (state !== 'EMPTY' && state !== 'DEAD')
    throw new ApiFailure(409, 'GROUP_NOT_EMPTY', `group ${id} is ${state}; offsets can be reset only when it is Empty`);
  const md = await admin.metadata({ topics: [topic], forceUpdate: true });
  const t = md.topics.get(topic);
  if (!t) throw notFound(`topic ${topic} does not exist`);
  const all = t.partitions.map((_, i) => i);
  const parts = r.partitions ?? all;
  for (const p of parts) if (!all.includes(p)) throw badRequest(`partition ${p} is out of range: ${topic} has ${all.length}`);
  let target: Map<number, bigint>;
  const to = r.to;
  if (to === 'earliest') target = await listOffsets(admin, topic, parts, -2n);
  else if (to === 'latest') target = await listOffsets(admin, topic, parts, -1n);
  else if (typeof to === 'object' && to !== null && 'offset' in to && Number.isInteger(to.offset)) {
    target = new Map(parts.map((p) => [p, BigInt(to.offset)]));
  } else if (typeof to === 'object' && to !== null && 'timestamp' in to && Number.isFinite(to.timestamp)) {
    const at = await listOffsets(admin, topic, parts, BigInt(Math.trunc(to.timestamp)));
    const end = await listOffsets(admin, topic, parts, -1n);
    target = new Map(parts.map((p) => [p, (at.get(p) ?? -1n) < 0n ? (end.get(p) ?? 0n) : at.get(p)!]));
  } else throw badRequest("to must be 'earliest', 'latest', {offset} or {timestamp}");
  await admin.alterConsumerGroupOffsets({
    groupId: id,
    topics: [{ name: topic, partitionOffsets: parts.map((partition) => ({ partition, offset: target.get(partition) ?? 0n })) }],
  });
  return parts.map((partition) => ({ topic, partition, committed: Number(target.get(partition) ?? 0n) }));
}

export function kafkaRoutes(app: FastifyInstance, d: KafkaDeps): void {
  app.get('/api/topics/:name', async (req) => {
    const name = topicName(req.params);
    return d.shared.get(`topic:${name}`, () => topicDetail(d, name));
  });

  app.post('/api/topics', async (req) => {
    const b = (req.body ?? {}) as Partial<TopicCreate>;
    const name = topicName(b);
    const partitions = intParam(b.partitions, 'partitions') ?? 1;
    const replicationFactor = intParam(b.replicationFactor, 'replicationFactor') ?? 1;
    if (partitions < 1 || replicationFactor < 1) throw badRequest('partitions and replicationFactor must be at least 1');
    const configs = Object.entries(b.configs ?? {}).map(([n, value]) => {
      if (typeof value !== 'string') throw badRequest(`config ${n} must be a string`);
      return { name: n, value };
    });
    await toController(d.admin, () => d.admin.createTopics({ topics: [name], partitions, replicas: replicationFactor, configs }));
    return { ok: true };
  });

  app.patch('/api/topics/:name/configs', async (req) => {
    const name = topicName(req.params);
    const cfg = (req.body as { configs?: Record<string, unknown> } | undefined)?.configs;
    if (typeof cfg !== 'object' || cfg === null) throw badRequest('body must be {configs: {name: value | null}}');
    const configs = Object.entries(cfg).map(([n, v]) => {
      if (v === null) return { name: n, configOperation: CONFIG_DELETE as 1 };
      if (typeof v !== 'string') throw badRequest(`config ${n} must be a string or null`);
      return { name: n, configOperation: CONFIG_SET as 0, value: v };
    });
    await d.admin.incrementalAlterConfigs({ resources: [{ resourceType: TOPIC_RESOURCE, resourceName: name, configs }] });
    d.shared.drop(`topic:${name}`);
    return { ok: true };
  });

  app.delete('/api/topics/:name', async (req) => {
    const name = topicName(req.params);
    await toController(d.admin, () => d.admin.deleteTopics({ topics: [name] }));
    d.shared.drop(`topic:${name}`);
    return { ok: true };
  });

  app.get('/api/topics/:name/messages', async (req) => {
    const name = topicName(req.params);
    const q = req.query as Record<string, string | undefined>;
    const limit = Math.min(pageLimitMax, Math.max(1, intParam(q['limit'], 'limit') ?? 50));
    const partition = intParam(q['partition'], 'partition');
    const timestamp = intParam(q['timestamp'], 'timestamp');
    let offset: bigint | undefined;
    if (q['offset'] !== undefined && q['offset'] !== '') {
      if (!/^\d+$/.test(q['offset'])) throw badRequest('offset must be a non-negative integer');
      offset = BigInt(q['offset']);
    }
    try {
      return await readPage(d.admin, topicReader(d.consumer, name), {
        limit,
        ...(partition !== undefined ? { partition } : {}),
        ...(offset !== undefined ? { offset } : {}),
        ...(timestamp !== undefined ? { timestamp } : {}),
        ...(q['search'] !== undefined ? { search: q['search'] } : {}),
      });
    } catch (e) {
      if (e instanceof TopicMissingError) throw notFound(e.message);
      throw e;
    }
  });

  app.get('/api/topics/:name/tail', async (req, reply) => {
    const name = topicName(req.params);
    const partition = intParam((req.query as { partition?: string }).partition, 'partition');
    const s = d.hub.open(req, reply);
    if (!s) return reply;
    try {
      s.onClose(d.tails.subscribe(name, partition, (m) => s.send('message', m)));
    } catch (e) {
      s.send('error', { error: (e as Error).message });
      s.close();
    }
    return reply;
  });

  app.post('/api/topics/:name/produce', async (req) => {
    const name = topicName(req.params);
    const b = (req.body ?? {}) as Partial<ProduceRequest>;
    if (b.value !== null && typeof b.value !== 'string') throw badRequest('value must be a string or null');
    if (b.key !== undefined && b.key !== null && typeof b.key !== 'string') throw badRequest('key must be a string or null');
    const value = b.value === null ? null : Buffer.from(b.value, 'utf8');
    if (value && value.length > produceValueBytesMax) throw badRequest(`value is larger than ${produceValueBytesMax} bytes`);
    const partition = intParam(b.partition, 'partition');
    const headers = new Map<Buffer, Buffer>();
    for (const h of b.headers ?? []) {
      if (typeof h?.key !== 'string' || typeof h.value !== 'string') throw badRequest('headers must be [{key, value}] strings');
      headers.set(Buffer.from(h.key), Buffer.from(h.value));
    }
    const res = await d.producer.send({
      messages: [
        {
          topic: name,
          ...(b.key !== undefined && b.key !== null ? { key: Buffer.from(b.key) } : {}),
          value: value as Buffer,
          headers,
          ...(partition !== undefined ? { partition } : {}),
        },
      ],
    });
    const o = res.offsets?.[0];
    return { partition: o?.partition ?? partition ?? 0, offset: String(o?.offset ?? '') };
  });

  app.get('/api/groups/:id', async (req) => {
    const id = String((req.params as { id: string }).id);
    return d.shared.get(`group:${id}`, () => groupDetail(d.admin, id));
  });

  app.post('/api/groups/:id/reset-offsets', async (req) => {
    const id = String((req.params as { id: string }).id);
    const offsets = await resetOffsets(d.admin, id, (req.body ?? {}) as Partial<OffsetReset>);
    d.shared.drop(`group:${id}`);
    return { offsets };
  });
}
