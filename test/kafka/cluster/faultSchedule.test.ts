// No acknowledged message is lost while a seeded schedule of faults hits real processes: three
// ZooKeeper members and three brokers, a topic with RF 3 and min.insync.replicas=2, two kafkajs
// producers (idempotent, acks=all) recording every acknowledgement. The faults: kill -9 of a broker
// and of the controller (read from /controller), SIGTERM (controlled shutdown) and restart,
// SIGSTOP shorter and longer than the ZooKeeper session, a broker cut off from ZooKeeper (its own
// proxies blackholed until its session expires), its ZooKeeper connections dropped, and a broker
// unreachable for peers and clients (its advertised address is a proxy, blackholed). Only one
// broker is ever down: each fault is healed and every ISR is full again before the next. Then a
// fresh consumer group reads every acknowledged message exactly once, in order.
//
// FAULT_SEED=<n> replays a schedule (the seed is printed); FAULTS=<n> runs a longer one;
// KEEP_DIR=1 keeps the cluster's directory (every node's log) for a post-mortem.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { type ClusterNode, ProcessCluster } from '../../../src/cluster/processCluster.js';
import { Random } from '../../../src/sim/random.js';
import { checkHistory, historyHolds } from '../../helpers/ackedHistory.js';
import {
  type AckedProducer,
  advertiseBrokersThroughProxies,
  type BrokerZkLink,
  controllerId,
  partitionStates,
  readEverything,
  routeBrokersToZkThroughProxies,
  startAckedProducer,
  waitForControllerKnown,
} from '../../helpers/clusterClients.js';
import type { TcpProxy } from '../../helpers/tcpProxy.js';
import { waitFor } from '../../helpers/wait.js';

const { Kafka, logLevel } = kafkajs;

const topic = 'faults';
const partitions = 4;
const sessionTimeoutMs = 3000;
const faultCount = Number(process.env['FAULTS'] ?? 20);
const seed = Number(process.env['FAULT_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
/** Bound of one recovery (a restart, an ISR refill): generous for a loaded 2-core machine. */
const recoveryTimeoutMs = 60_000;

let dir: string;
let cluster: ProcessCluster;
let links: Map<number, BrokerZkLink>;
let fronts: Map<number, TcpProxy>;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cg-faults-'));
  cluster = await ProcessCluster.create({
    dir,
    zookeepers: 3,
    brokers: 3,
    tickTimeMs: 500,
    initLimit: 10,
    syncLimit: 5,
    brokerConfig: () => ({
      'zookeeper.session.timeout.ms': String(sessionTimeoutMs),
      'offsets.topic.replication.factor': '3',
      'min.insync.replicas': '2',
      'replica.lag.time.max.ms': '10000',
      'controlled.shutdown.enable': 'true',
      'auto.leader.rebalance.enable': 'false',
    }),
  });
  links = await routeBrokersToZkThroughProxies(cluster);
  fronts = await advertiseBrokersThroughProxies(cluster);
  try {
    await cluster.startAll();
    await waitForControllerKnown(cluster);
  } catch (e) {
    await cluster.close(5000);
    throw e;
  }
});

after(async () => {
  await cluster?.close();
  for (const l of links?.values() ?? []) for (const p of l.proxies) await p.close();
  for (const p of fronts?.values() ?? []) await p.close();
  if (dir && !process.env['KEEP_DIR']) rmSync(dir, { recursive: true, force: true });
});

type FaultKind = 'kill' | 'killController' | 'term' | 'pauseShort' | 'pauseLong' | 'zkIsolate' | 'zkCut' | 'unreachable';
/** Weights of the schedule: hard failures dominate, the cheap ones fill in. */
const kinds: FaultKind[] = [
  'kill',
  'kill',
  'killController',
  'killController',
  'term',
  'term',
  'pauseShort',
  'pauseLong',
  'zkIsolate',
  'zkCut',
  'unreachable',
];

async function registered(id: number): Promise<boolean> {
  return (await cluster.registeredBrokers()).includes(id);
}

/** Every broker registered and every partition led, with a full ISR. */
async function healthy(): Promise<boolean> {
  if ((await cluster.registeredBrokers()).length !== 3) return false;
  return (await partitionStates(cluster, topic, partitions)).every((s) => s.leader > 0 && s.isr.length === 3);
}

/** Injects one fault on `b` and heals it; returns what it did, for the log. */
async function inject(kind: FaultKind, b: ClusterNode, rnd: Random): Promise<string> {
  switch (kind) {
    case 'kill':
    case 'killController':
      await b.kill();
      await b.start(); // waits for the old session to expire: its leaderships move first
      await b.waitServing(recoveryTimeoutMs);
      return `kill -9 broker ${b.id}${kind === 'killController' ? ' (the controller)' : ''}, restart`;
    case 'term': {
      const exit = await b.stop();
      assert.equal(exit?.code, 0, `broker ${b.id} did not exit cleanly on SIGTERM: ${JSON.stringify(exit)}\n${b.logTail()}`);
      await b.start();
      await b.waitServing(recoveryTimeoutMs);
      return `SIGTERM broker ${b.id}, restart`;
    }
    case 'pauseShort': {
      const ms = rnd.int(200, sessionTimeoutMs / 3);
      b.pause();
      await new Promise((r) => setTimeout(r, ms)); // the fault's length, not a synchronisation
      b.resume();
      return `SIGSTOP broker ${b.id} for ${ms} ms, SIGCONT`;
    }
    case 'pauseLong':
      b.pause();
      await waitFor(async () => !(await registered(b.id)), { timeoutMs: recoveryTimeoutMs, intervalMs: 100, what: 'session expiry' });
      b.resume();
      return `SIGSTOP broker ${b.id} until its session expired, SIGCONT`;
    case 'zkIsolate': {
      const link = links.get(b.id)!;
      link.isolate(true);
      try {
        await waitFor(async () => !(await registered(b.id)), { timeoutMs: recoveryTimeoutMs, intervalMs: 100, what: 'session expiry' });
      } finally {
        link.isolate(false);
      }
      return `broker ${b.id} cut off from ZooKeeper until its session expired, reconnected`;
    }
    case 'unreachable': {
      // Inbound only: its own fetches and ZooKeeper session go on, so nothing re-elects; clients
      // and followers time out until the heal.
      const ms = rnd.int(1000, 4000);
      const front = fronts.get(b.id)!;
      front.blackhole(true);
      await new Promise((r) => setTimeout(r, ms)); // the fault's length, not a synchronisation
      front.blackhole(false);
      front.cut(); // connections that lost bytes mid-frame must not carry on
      return `broker ${b.id} unreachable for peers and clients for ${ms} ms`;
    }
    case 'zkCut':
      links.get(b.id)!.cut();
      return `broker ${b.id}'s ZooKeeper connections dropped`;
  }
}

test(`no acknowledged message is lost under ${faultCount} faults (FAULT_SEED=${seed})`, async (t) => {
  t.diagnostic(`FAULT_SEED=${seed} FAULTS=${faultCount}`);
  console.log(`# fault schedule: FAULT_SEED=${seed} FAULTS=${faultCount}`);
  const rnd = new Random(seed);
  const kafka = new Kafka({
    clientId: 'faults',
    brokers: cluster.bootstrap.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 2000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: partitions, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  await waitFor(healthy, { timeoutMs: recoveryTimeoutMs, intervalMs: 200, what: 'every ISR to hold three brokers' });

  const producers: AckedProducer[] = [];
  const done: string[] = [];
  try {
    for (const name of ['a', 'b']) producers.push(await startAckedProducer(kafka, { topic, partitions, name }));
    const acked = (): number => producers.reduce((n, p) => n + p.ackedCount(), 0);
    await waitFor(() => producers.every((p) => p.ackedCount() >= 10), { timeoutMs: recoveryTimeoutMs, what: 'first acknowledgements' });

    for (let i = 0; i < faultCount; i++) {
      const kind = rnd.pick(kinds);
      const target =
        kind === 'killController'
          ? cluster.broker(await waitFor(() => controllerId(cluster), { timeoutMs: recoveryTimeoutMs, what: 'a controller' }))
          : cluster.broker(rnd.int(1, 3));
      const before = acked();
      const what = await inject(kind, target, rnd);
      done.push(`${i + 1}: ${what}`);
      await waitFor(healthy, {
        timeoutMs: recoveryTimeoutMs,
        intervalMs: 200,
        what: () => `the cluster to heal after fault ${i + 1} (${what}); so far:\n${done.join('\n')}`,
      });
      // The producers carry on after each fault.
      await waitFor(() => acked() >= before + 5, { timeoutMs: recoveryTimeoutMs, what: () => `acknowledgements after fault ${i + 1}` });
    }
  } finally {
    for (const p of producers) await p.stop();
  }
  console.log(`# faults injected:\n${done.map((l) => `#   ${l}`).join('\n')}`);

  const read = await readEverything(kafka, topic, 'faults-checker');
  const verdict = checkHistory(
    producers.flatMap((p) => p.sent),
    read,
  );
  const failures = producers.map(
    (p) => `${p.name}: ${p.failures.retriable} retriable, non-retriable ${JSON.stringify(p.failures.nonRetriable)}`,
  );
  console.log(`# ${verdict.acked} acknowledged, ${verdict.read} read; ${failures.join('; ')}`);
  assert.ok(
    historyHolds(verdict),
    `FAULT_SEED=${seed}: ${JSON.stringify({ ...verdict, lost: verdict.lost.slice(0, 20) })}\n${failures.join('\n')}\n${done.join('\n')}`,
  );
  assert.equal(done.length, faultCount);
  assert.ok(verdict.acked >= 10 * faultCount, `only ${verdict.acked} messages were acknowledged (${failures.join('; ')})`);
});
