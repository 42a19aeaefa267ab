// Reading a topic's records for the dashboard without a consumer group (src/genie/topicReader.ts:
// one Fetch per partition leader), records turned into api.ts Messages (text when valid UTF-8, else
// base64, cut at valueBytesMax), pages by offset or timestamp with a bounded server-side search,
// and live tails: one fetch loop per topic shared by every subscriber, stopped with the last one.

import { isUtf8 } from 'node:buffer';
import type { Admin, Consumer } from '@platformatic/kafka';
import { type ReadRecord, TopicReader } from '../../genie/topicReader.js';
import { type Message, type MessagePage, searchScanMax, valueBytesMax } from '../api.js';

/** Records one page may return. */
export const pageLimitMax = 500;
/** Bytes per partition per fetch. */
export const partitionFetchBytesMax = 1024 * 1024;
/** How long one page read may run (a search over a slow topic answers with what it scanned). */
export const pageReadMsMax = 10_000;
/** Tail subscribers per topic; topics tailed at once. */
export const tailSubscribersMax = 100;
export const tailTopicsMax = 50;

/** A dashboard read of `topic`: partitionBytesMax per partition (a reader that keeps few records asks for less). */
export function topicReader(
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
  topic: string,
  partitionBytesMax = partitionFetchBytesMax,
): TopicReader {
  return new TopicReader(consumer, topic, { partitionBytesMax, fetchBytesMax: 8 * partitionBytesMax });
}

/** Text when valid UTF-8 else base64, cut at `max` bytes (pure). */
export function encodeBytes(b: Buffer, max = valueBytesMax): { text: string; encoding: 'utf8' | 'base64'; truncated: boolean } {
  const cut = b.length > max ? b.subarray(0, max) : b;
  if (isUtf8(b)) return { text: cut.toString('utf8'), encoding: 'utf8', truncated: cut.length < b.length };
  return { text: cut.toString('base64'), encoding: 'base64', truncated: cut.length < b.length };
}

/** A record as the page shows it (pure). */
export function toMessage(r: ReadRecord): Message {
  const key = r.key === null ? null : encodeBytes(r.key);
  const value = r.value === null ? null : encodeBytes(r.value);
  return {
    partition: r.partition,
    offset: r.offset.toString(),
    timestamp: Number(r.timestamp),
    key: key?.text ?? null,
    value: value?.text ?? null,
    keyEncoding: key?.encoding ?? 'utf8',
    valueEncoding: value?.encoding ?? 'utf8',
    valueBytes: r.value?.length ?? 0,
    truncated: (key?.truncated ?? false) || (value?.truncated ?? false),
    headers: r.headers.map(([k, v]) => ({ key: k?.toString('utf8') ?? '', value: v === null ? '' : encodeBytes(v, 4096).text })),
  };
}

/** Case-insensitive search of key, value and headers (as UTF-8 text) (pure). */
export function recordMatches(r: ReadRecord, needle: string): boolean {
  const n = needle.toLowerCase();
  const has = (b: Buffer | null): boolean => b?.toString('utf8').toLowerCase().includes(n) ?? false;
  return has(r.key) || has(r.value) || r.headers.some(([k, v]) => has(k) || has(v));
}

export class BadRequest extends Error {}

/** Earliest/latest offsets, or the first offset at or after a timestamp, per partition. */
export async function listOffsets(
  admin: Admin,
  topic: string,
  partitions: readonly number[],
  timestamp: bigint,
): Promise<Map<number, bigint>> {
  const res = await admin.listOffsets({
    topics: [{ name: topic, partitions: partitions.map((partitionIndex) => ({ partitionIndex, timestamp })) }],
  });
  const out = new Map<number, bigint>();
  for (const t of res) for (const p of t.partitions) out.set(p.partitionIndex, p.offset);
  return out;
}

export interface PageQuery {
  partition?: number;
  offset?: bigint;
  timestamp?: number;
  limit: number;
  search?: string;
}

/**
 * One page: from `offset` (or the first offset at `timestamp`; without either, the newest `limit`
 * records of each partition), the first `limit` records (matching `search` when given), scanning at
 * most searchScanMax records and pageReadMsMax.
 */
export async function readPage(admin: Admin, f: TopicReader, q: PageQuery): Promise<MessagePage> {
  const count = await f.partitions();
  if (q.partition !== undefined && (q.partition < 0 || q.partition >= count)) {
    throw new BadRequest(`partition ${q.partition} is out of range: ${f.topic} has ${count} partitions`);
  }
  const parts = q.partition !== undefined ? [q.partition] : [...Array(count).keys()];
  const [earliest, latest] = await Promise.all([listOffsets(admin, f.topic, parts, -2n), listOffsets(admin, f.topic, parts, -1n)]);
  const positions = new Map<number, bigint>();
  if (q.timestamp !== undefined) {
    const at = await listOffsets(admin, f.topic, parts, BigInt(q.timestamp));
    for (const p of parts) {
      const o = at.get(p) ?? -1n;
      positions.set(p, o < 0n ? (latest.get(p) ?? 0n) : o);
    }
  } else {
    for (const p of parts) {
      const lo = earliest.get(p) ?? 0n;
      const hi = latest.get(p) ?? 0n;
      let o = q.offset ?? hi - BigInt(q.limit);
      if (o < lo) o = lo;
      if (o > hi) o = hi;
      positions.set(p, o);
    }
  }
  const found = new Map<number, ReadRecord[]>();
  const next: Record<string, string> = {};
  let scanned = 0;
  const deadline = Date.now() + pageReadMsMax;
  const active = new Map([...positions].filter(([p, o]) => o < (latest.get(p) ?? 0n)));
  for (const [p, o] of positions) next[String(p)] = o.toString();
  while (active.size > 0 && scanned < searchScanMax && Date.now() < deadline) {
    const r = await f.read(active, 100);
    for (const p of r.outOfRange) active.delete(p);
    for (const rec of r.records) {
      const list = found.get(rec.partition) ?? [];
      if (list.length >= q.limit) continue;
      scanned++;
      if (q.search !== undefined && q.search !== '' && !recordMatches(rec, q.search)) {
        next[String(rec.partition)] = (rec.offset + 1n).toString();
        continue;
      }
      list.push(rec);
      found.set(rec.partition, list);
      next[String(rec.partition)] = (rec.offset + 1n).toString();
    }
    for (const [p, n] of r.next) {
      const end = latest.get(p) ?? 0n;
      if ((found.get(p)?.length ?? 0) >= q.limit || n >= end) active.delete(p);
      else active.set(p, n);
      if ((found.get(p)?.length ?? 0) < q.limit) next[String(p)] = (n < end ? n : end).toString();
    }
  }
  const all = [...found.values()]
    .flat()
    .sort((a, b) => Number(a.timestamp - b.timestamp) || a.partition - b.partition || Number(a.offset - b.offset));
  const page = all.slice(0, q.limit);
  // A record cut off by the limit is where its partition's next page starts.
  for (const rec of all.slice(q.limit)) {
    const cur = BigInt(next[String(rec.partition)] ?? '0');
    if (rec.offset < cur) next[String(rec.partition)] = rec.offset.toString();
  }
  return { topic: f.topic, messages: page.map(toMessage), scanned, next };
}

type TailListener = (m: Message) => void;

interface Tail {
  listeners: Map<TailListener, number | undefined>;
  stop: boolean;
}

/** Live tails: one fetch loop per topic, started by its first subscriber, stopped after its last. */
export class TailHub {
  private readonly tails = new Map<string, Tail>();

  constructor(
    private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>,
    private readonly admin: Admin,
    private readonly onError: (topic: string, e: unknown) => void,
  ) {}

  /** Loops running now (tests check one per topic). */
  get loops(): number {
    return this.tails.size;
  }

  /** Subscribes; returns the unsubscribe function. Throws when the bounds are reached. */
  subscribe(topic: string, partition: number | undefined, listener: TailListener): () => void {
    let t = this.tails.get(topic);
    if (!t) {
      if (this.tails.size >= tailTopicsMax) throw new Error(`at most ${tailTopicsMax} topics are tailed at once`);
      t = { listeners: new Map(), stop: false };
      this.tails.set(topic, t);
      void this.loop(topic, t);
    }
    if (t.listeners.size >= tailSubscribersMax) throw new Error(`at most ${tailSubscribersMax} tails of one topic`);
    t.listeners.set(listener, partition);
    const tail = t;
    return () => {
      tail.listeners.delete(listener);
      if (tail.listeners.size === 0) {
        tail.stop = true;
        if (this.tails.get(topic) === tail) this.tails.delete(topic);
      }
    };
  }

  close(): void {
    for (const t of this.tails.values()) t.stop = true;
    this.tails.clear();
  }

  private async loop(topic: string, t: Tail): Promise<void> {
    const f = topicReader(this.consumer, topic);
    let positions: Map<number, bigint> | undefined;
    while (!t.stop) {
      try {
        if (!positions) {
          const n = await f.refresh();
          positions = await listOffsets(this.admin, topic, [...Array(n).keys()], -1n);
        }
        const r = await f.read(positions, 500);
        if (t.stop) break;
        for (const [p, n] of r.next) positions.set(p, n);
        if (r.outOfRange.length > 0) positions = undefined;
        for (const rec of r.records) {
          const m = toMessage(rec);
          for (const [l, part] of t.listeners) if (part === undefined || part === rec.partition) l(m);
        }
        if (r.records.length === 0 && r.next.size === 0) await new Promise((res) => setTimeout(res, 500).unref());
      } catch (e) {
        this.onError(topic, e);
        positions = undefined;
        await new Promise((res) => setTimeout(res, 1000).unref());
      }
    }
  }
}
