// The Log Consumer's group under membership changes, with live processes: two `clustergenie
// log-consumer` members share logs.dev (3 partitions) while lines flow; a third joins, then one
// of the first leaves (SIGTERM), mid-stream; then a fourth comes and goes, so partitions go back to
// members that owned them before (the case where records fetched in an earlier ownership could be
// mistaken for current ones). Every line must reach the store (no loss); a line
// may be pushed twice only around a rebalance (uncommitted when its partition moved, or when the
// stream restarted from the committed offset), never in the quiet phases. Pushes are counted by
// sequence number in an HTTP proxy in front of the log store (the store itself keeps one copy of
// an identical entry, so duplicates are not visible there).

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { KafkaTestingCluster } from '../../../../src/cluster/kafkaTestingCluster.js';
import { ServiceProcess } from '../../../../src/cluster/serviceProcess.js';
import { nsToRfc3339 } from '../../../../src/genie/logs/logEvent.js';
import { decodePush } from '../../../../src/genie/logs/lokiPush.js';
import { freePort } from '../../../../src/util/net.js';
import { waitFor } from '../../../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const topic = 'logs.dev';
const group = 'rebalance-test';
const env = 'rebalance';
/** Lines produced per tick and ticks per second: 150 lines/s over ~25 s stays under one store query page. */
const linesPerTick = 3;
/** Lines each steady phase waits for. */
const phaseLines = 450;
const tickMs = 20;
/** Bound of one push body the proxy reads. */
const pushBodyBytesMax = 16 * 1024 * 1024;
/** How long before a rebalance starts a line may have been produced and still be uncommitted. */
const uncommittedBeforeRebalanceMs = 5000;

let dir: string;
let cluster: KafkaTestingCluster;
let store: ServiceProcess;
let storeUrl: string;
let proxy: Server;
let proxyUrl: string;
const consumers: ServiceProcess[] = [];
/** seq → times a push carrying it was accepted by the store. */
const pushed = new Map<number, number>();
let proxyErrors = 0;
/** Added to every push while set: a slow Loki fills the consumers' queues, so their streams pause. */
let pushDelayMs = 0;

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const c of req as AsyncIterable<Buffer>) {
      bytes += c.length;
      if (bytes > pushBodyBytesMax) throw new Error(`push body over ${pushBodyBytesMax} bytes`);
      chunks.push(c);
    }
    const body = Buffer.concat(chunks);
    const headers: Record<string, string> = {};
    for (const h of ['content-type', 'content-encoding', 'x-scope-orgid']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const up = await fetch(`${storeUrl}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = Buffer.from(await up.arrayBuffer());
    if (pushDelayMs > 0) await new Promise((r) => setTimeout(r, pushDelayMs));
    if (up.ok && req.url?.startsWith('/loki/api/v1/push')) {
      for (const s of decodePush(body, headers['content-type'], headers['content-encoding'])) {
        for (const e of s.entries) {
          const m = /^seq=(\d+)$/.exec(e.line);
          if (m) pushed.set(Number(m[1]), (pushed.get(Number(m[1])) ?? 0) + 1);
        }
      }
    }
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'text/plain' }).end(answer);
  } catch (e) {
    proxyErrors++;
    if (!res.headersSent) res.writeHead(502).end((e as Error).message);
  }
}

function consumerProcess(name: string): ServiceProcess {
  return new ServiceProcess({
    name,
    args: [
      'log-consumer',
      '--bootstrap-server',
      cluster.bootstrap,
      '--topic',
      topic,
      '--group',
      group,
      '--env',
      env,
      '--loki-url',
      proxyUrl,
      '--batch-wait-ms',
      '200',
      '--log-level',
      'info',
    ],
    logPath: join(dir, `${name}.log`),
    readyLine: /log-consumer ready/,
    restartOnCrash: false,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cg-logs-rebalance-'));
  cluster = await KafkaTestingCluster.start({ brokers: 1 });
  const storePort = await freePort();
  storeUrl = `http://127.0.0.1:${storePort}`;
  store = new ServiceProcess({
    name: 'log-store',
    args: ['log-store', '--host', '127.0.0.1', '--port', String(storePort), '--data-dir', join(dir, 'store'), '--log-level', 'warn'],
    logPath: join(dir, 'log-store.log'),
    readyLine: /log-store listening on http/,
    restartOnCrash: false,
  });
  store.start();
  proxy = createServer((req, res) => void forward(req, res));
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  await store.waitReady(60_000);
});

after(async () => {
  await Promise.all(consumers.map((c) => c.stop(15_000)));
  await store?.stop(15_000);
  proxy?.closeAllConnections();
  await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
  await cluster?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('members join and leave mid-stream: no commit before its push, every line stored, duplicates only around rebalances', {
  timeout: 180_000,
}, async (t) => {
  const kafka = new Kafka({ clientId: 'rebalance-test', brokers: cluster.bootstrap.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await admin.connect();
  await producer.connect();
  // The produce and watch loops, ended in `finally` too: a failed wait must not leave them running.
  let producing = true;
  let watching = true;
  const loops: Promise<unknown>[] = [];
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
    const stable = (members: number) =>
      waitFor(
        async () => {
          const g = (await admin.describeGroups([group])).groups[0];
          return g?.state === 'Stable' && g.members.length === members;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: `group ${group} Stable with ${members} members` },
      );

    const [a, b, c, d] = ['consumer-a', 'consumer-b', 'consumer-c', 'consumer-d'].map(consumerProcess) as [
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
      ServiceProcess,
    ];
    consumers.push(a, b, c, d);
    a.start();
    b.start();
    await Promise.all([a.waitReady(60_000), b.waitReady(60_000)]);
    await stable(2);

    // Lines flow from here on: seq i goes to partition i % 3 with its own timestamp.
    const producedAt: number[] = [];
    /** `partition:offset` → seq, from the produce acknowledgements. */
    const seqAt = new Map<string, number>();
    const baseNs = BigInt(Date.now()) * 1_000_000n;
    let produceError: Error | undefined;
    const flow = (async () => {
      while (producing) {
        const first = producedAt.length;
        const messages = Array.from({ length: linesPerTick }, (_, k) => {
          const seq = first + k;
          const event = {
            message: `seq=${seq}`,
            timestamp: nsToRfc3339(baseNs + BigInt(seq) * 1000n),
            host: 'rebalance-test',
            source_type: 'file',
            service: 'rebalance',
          };
          return { partition: seq % 3, value: JSON.stringify(event) };
        });
        const now = Date.now();
        for (let k = 0; k < linesPerTick; k++) producedAt.push(now);
        const acks = await producer.send({ topic, acks: -1, messages });
        for (const ack of acks) {
          if (ack.baseOffset === undefined) throw new Error(`no base offset in the acknowledgement for partition ${ack.partition}`);
          let offset = BigInt(ack.baseOffset);
          for (let k = 0; k < messages.length; k++)
            if (messages[k]!.partition === ack.partition) seqAt.set(`${ack.partition}:${offset++}`, first + k);
        }
        await new Promise((r) => setTimeout(r, tickMs));
      }
    })().catch((e: Error) => {
      produceError = e;
    });
    loops.push(flow);
    const linesNow = (): number => producedAt.length;

    // The at-least-once invariant, watched all along: a committed offset X on a partition means
    // every record below X was accepted by the store. A commit past an unpushed record would lose
    // it if the member then crashed.
    const violations: string[] = [];
    const committedSeen = new Map<number, bigint>();
    const watch = (async () => {
      while (watching) {
        const got = await admin.fetchOffsets({ groupId: group, topics: [topic] }).catch(() => []);
        for (const p of got[0]?.partitions ?? []) {
          const x = BigInt(p.offset);
          const from = committedSeen.get(p.partition) ?? 0n;
          if (x <= from) continue;
          let known = true;
          for (let o = from; o < x; o++) {
            const seq = seqAt.get(`${p.partition}:${o}`);
            if (seq === undefined) {
              known = false; // its produce acknowledgement is still on its way here: look again next time
              break;
            }
            if (!pushed.has(seq)) {
              violations.push(`partition ${p.partition} committed ${x} with offset ${o} (seq ${seq}) not pushed`);
              break;
            }
          }
          if (known) committedSeen.set(p.partition, x);
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    loops.push(watch);

    const steady = async (what: string): Promise<void> => {
      const from = linesNow();
      await waitFor(() => linesNow() >= from + phaseLines, { timeoutMs: 30_000, what: `lines flowing ${what}` });
    };
    /** Each membership change: from its start until the group is Stable again. */
    const rebalances: { what: string; from: number; to: number }[] = [];
    const rebalance = async (what: string, members: number, change: () => Promise<void>): Promise<void> => {
      const from = Date.now();
      await change();
      await stable(members);
      rebalances.push({ what, from, to: Date.now() });
    };
    const leave = async (member: ServiceProcess): Promise<void> => {
      const exit = await member.stop(30_000);
      assert.equal(exit?.code, 0, `${member.name} closes cleanly on SIGTERM: ${member.logTail()}`);
    };
    const join = async (member: ServiceProcess): Promise<void> => {
      member.start();
      await member.waitReady(60_000);
    };

    await steady('with two members');
    // Slow pushes from here through every rebalance: queues fill and streams pause with records
    // buffered, the case where records fetched for an earlier owner could be taken as current.
    pushDelayMs = 400;
    await rebalance('consumer-c joins', 3, () => join(c));
    await steady('with three members');
    await rebalance('consumer-a leaves', 2, () => leave(a));
    await steady('after the leave');
    await rebalance('consumer-d joins', 3, () => join(d));
    await steady('with consumer-d');
    await rebalance('consumer-d leaves', 2, () => leave(d));
    pushDelayMs = 0;
    await steady('after the last rebalance');
    producing = false;
    await flow;
    assert.equal(produceError, undefined, `producing failed: ${produceError?.message}`);
    const total = linesNow();

    const missing = (): number[] => {
      const out: number[] = [];
      for (let s = 0; s < total; s++) if (!pushed.has(s)) out.push(s);
      return out;
    };
    await waitFor(() => missing().length === 0, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: () => {
        const m = missing();
        return `every one of ${total} lines pushed; ${m.length} missing (first ${m.slice(0, 10).join(', ')})\n${b.logTail()}\n${c.logTail()}`;
      },
    });
    assert.equal(proxyErrors, 0, 'every push reached the store');
    watching = false;
    await watch;
    assert.deepEqual(violations.slice(0, 10), [], 'no offset was committed before its record was pushed');
    assert.ok(committedSeen.size === 3, `commits seen on all three partitions: ${[...committedSeen.keys()]}`);

    // The store has every line once (it keeps one copy of an identical entry).
    const qs = new URLSearchParams({
      query: `{env="${env}"}`,
      start: (baseNs - 1_000_000_000n).toString(),
      end: (BigInt(Date.now() + 60_000) * 1_000_000n).toString(),
      limit: '5000',
      direction: 'forward',
    });
    const stored = await waitFor(
      async () => {
        const res = await fetch(`${storeUrl}/loki/api/v1/query_range?${qs}`, { signal: AbortSignal.timeout(10_000) });
        const body = (await res.json()) as { data: { result: { values: [string, string][] }[] } };
        const seqs = new Set(body.data.result.flatMap((r) => r.values.map(([, line]) => Number(/^seq=(\d+)$/.exec(line)?.[1]))));
        return seqs.size === total ? seqs : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: `${total} distinct lines in the store` },
    );
    assert.ok(total < 5000, 'one query page holds them all');
    assert.equal(stored.size, total);

    // Duplicates: only lines produced shortly before or during a rebalance.
    const duplicated = [...pushed].filter(([, n]) => n > 1).map(([s]) => s);
    const extra = [...pushed.values()].reduce((sum, n) => sum + n - 1, 0);
    t.diagnostic(`${total} lines; ${duplicated.length} pushed more than once (${extra} extra pushes)`);
    const aroundRebalance = (at: number): boolean => rebalances.some((r) => at >= r.from - uncommittedBeforeRebalanceMs && at <= r.to);
    const outside = duplicated.filter((s) => !aroundRebalance(producedAt[s]!));
    assert.deepEqual(
      outside.slice(0, 20),
      [],
      `${outside.length} line(s) duplicated away from any rebalance (produced at +${outside.slice(0, 5).map((s) => producedAt[s]! - producedAt[0]!)} ms; ` +
        `rebalances ${rebalances.map((r) => `${r.what} ${r.from - producedAt[0]!}..${r.to - producedAt[0]!} ms`).join(', ')})`,
    );
  } finally {
    producing = false;
    watching = false;
    await Promise.allSettled(loops);
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
});
