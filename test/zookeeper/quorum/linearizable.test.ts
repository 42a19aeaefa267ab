// Linearizability of our ensemble under faults (issue 4): concurrent clients do compare-and-set
// increments (getData, then setData with the version read) and sync+getData reads on a few keys
// while a seeded fault schedule stops and restarts members (the leader too), partitions the
// leader or a minority away (announced: the links break, as the testing cluster's cut does; or
// silent: messages are dropped with every link up, so members find out only by their timeouts)
// and cuts single links, then heals. Every call is recorded with
// HistoryRecorder (connection loss, session expiry, timeouts = unknown outcome) and the history
// is checked with the WGL checker of test/helpers/linearizability.ts.
//
// Some clients use the whole connect string (they fail over); some are pinned to one member (they
// wait for it, and may see their session expire while it is down: then they start a new one).
//
// Replay: LIN_SEED=<n> fixes the fault schedule and the clients' choices (the seed is printed at
// the start of every run and in every failure); LIN_MS=<ms> changes the length of the faulty
// phase. Timing is real, so a replay repeats the same faults in the same order, not the same
// interleaving of messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ZooKeeperTestingCluster } from '../../../src/cluster/zkTestingCluster.js';
import type { PeerTransport } from '../../../src/zookeeper/quorum/transport.js';
import { Err, ZooKeeperClient, isZooKeeperError } from '../../../src/zookeeper/client/index.js';
import { checkLinearizable, describeOp, HistoryRecorder, type HistoryOp } from '../../helpers/linearizability.js';
import { waitFor } from '../../helpers/net.js';
import { prng } from '../../helpers/prng.js';

const SESSION_TIMEOUT_MS = 4000; // the most tickTime 200 allows (maxSessionTimeout = 20 ticks)

/** Faults per run, at least (the run is extended until they happened). */
const MIN_FAULTS = 5;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface RunOptions {
  name: string;
  size: number;
  clients: number;
  /** How many of the clients are pinned to a single member. */
  pinned: number;
  keys: number;
  /** Length of the faulty phase. */
  ms: number;
  seed: number;
}

interface FaultLog {
  t: number;
  what: string;
}

/** The leader as "id@epoch" (a member re-elected after a restart is a new leadership). */
function leaderToken(cluster: ZooKeeperTestingCluster): string | undefined {
  const id = cluster.leader();
  if (id === undefined) return undefined;
  const m = cluster.get(id).member;
  return m ? `${id}@${m.core.currentEpoch}` : undefined;
}

/**
 * A silent partition: every message between `group` and the other members is dropped while all
 * links stay up, so no member is told (no `disconnected`); leaders and learners find out only by
 * their syncLimit timeouts, and a deposed leader keeps answering its clients meanwhile. Done
 * test-side by wrapping each running member's PeerTransport.send. Returns the heal: the links
 * across the partition are reset first (cut, then healed), because a real network either breaks
 * a TCP connection or delivers its bytes late and in order, never drops the middle of a stream.
 */
function silence(cluster: ZooKeeperTestingCluster, group: number[]): () => void {
  const inside = new Set(group);
  const patched: PeerTransport[] = [];
  for (const m of cluster.members) {
    const t = m.member?.transport;
    if (!t) continue;
    const send = t.send;
    t.send = function (this: PeerTransport, to, msg) {
      if (inside.has(m.id) !== inside.has(to)) return;
      send.call(this, to, msg);
    };
    patched.push(t);
  }
  return () => {
    const across: [number, number][] = [];
    for (const a of cluster.members)
      for (const b of cluster.members) if (a.id < b.id && inside.has(a.id) !== inside.has(b.id)) across.push([a.id, b.id]);
    for (const [a, b] of across) cluster.cut(a, b);
    for (const t of patched) delete (t as { send?: unknown }).send; // the prototype's send again
    for (const [a, b] of across) cluster.heal(a, b);
  };
}

async function allServing(cluster: ZooKeeperTestingCluster, timeoutMs: number, why: string): Promise<void> {
  await waitFor(
    () => cluster.serving().length === cluster.members.length && cluster.leader() !== undefined,
    timeoutMs,
    () => `${why}: serving ${JSON.stringify(cluster.serving())}, leader ${cluster.leader()}`,
  );
}

async function run(o: RunOptions): Promise<void> {
  const t0 = performance.now();
  const tag = `[${o.name} seed=${o.seed}]`;
  const replay = `replay with LIN_SEED=${o.seed}${process.env.LIN_MS ? ` LIN_MS=${process.env.LIN_MS}` : ''}`;
  console.log(`${tag} start (${replay})`);
  const rand = prng(o.seed);
  const cluster = await ZooKeeperTestingCluster.start({ size: o.size, forceSync: false });
  const clients: ZooKeeperClient[] = [];
  const faults: FaultLog[] = [];
  const leaders: string[] = [];
  let monitor: NodeJS.Timeout | undefined;
  try {
    await allServing(cluster, 20_000, `${tag} the ensemble did not form`);
    monitor = setInterval(() => {
      const l = leaderToken(cluster);
      if (l !== undefined && leaders[leaders.length - 1] !== l) leaders.push(l);
    }, 10);
    const ids = cluster.members.map((m) => m.id);
    const pinnedTo: (number | undefined)[] = [];
    for (let i = 0; i < o.clients; i++) {
      // Highest ids first: they win elections (votes tie on zxid), so pinned clients sit on leaders.
      const pin = i < o.pinned ? ids[ids.length - 1 - (i % ids.length)]! : undefined;
      pinnedTo.push(pin);
      const c = new ZooKeeperClient({
        connectString: pin === undefined ? cluster.connectString : `127.0.0.1:${cluster.get(pin).clientPort}`,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        reconnectDelayMaxMs: 100,
      });
      await c.connect({ timeoutMs: 20_000 });
      clients.push(c);
    }
    const keys = Array.from({ length: o.keys }, (_, i) => `/lin-${i}`);
    const rec = new HistoryRecorder();
    for (const k of keys) assert.deepEqual(await rec.create('setup', k, '0', () => clients[0]!.create(k, '0')), { status: 'ok' });

    const deadline = performance.now() + o.ms;
    let stopFaults = false;
    let faultsOver = false;
    const unexpected: string[] = [];
    let expirations = 0;
    let casOk = 0;
    const workerSeeds = clients.map(() => Math.floor(rand() * 2 ** 31));

    /** Waits until the client can take requests again, starting a new session after expiry. */
    const usable = async (c: ZooKeeperClient): Promise<void> => {
      await waitFor(
        async () => {
          if (c.state === 'expired') {
            expirations++;
            await c.connect({ timeoutMs: 10_000 });
          }
          return c.isConnected;
        },
        30_000,
        () => `${tag} a client stayed ${c.state}`,
      );
    };

    const worker = async (i: number): Promise<void> => {
      const c = clients[i]!;
      const id = `c${i}${pinnedTo[i] !== undefined ? `@${pinnedTo[i]}` : ''}`;
      const r = prng(workerSeeds[i]!);
      while (performance.now() < deadline || !faultsOver) {
        const key = keys[Math.floor(r() * keys.length)]!;
        try {
          const read = await rec.read(id, key, async () => {
            await c.sync(key);
            return c.getData(key);
          });
          if (read.status === 'unknown') {
            await usable(c);
            continue;
          }
          if (r() < 0.3) continue; // sometimes only read
          const next = String(Number(read.value) + 1);
          const w = await rec.write(id, key, next, read.version, () => c.setData(key, next, read.version));
          if (w.status === 'ok') casOk++;
          else if (w.status === 'unknown') await usable(c);
          else if (w.code !== 'BADVERSION') unexpected.push(`${id}: setData ${key} failed with ${w.code}`);
        } catch (e) {
          // SESSIONMOVED is legal ZooKeeper behaviour for a request on a superseded connection (the
          // recorder keeps it as an unknown outcome); anything else is a finding.
          if (!isZooKeeperError(e, Err.SESSIONMOVED)) unexpected.push(`${id}: ${(e as Error).message}`);
          await usable(c);
        }
      }
    };

    const voters = ids.slice(0, o.size);
    const minority = Math.floor((o.size - 1) / 2);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;
    const subset = (from: readonly number[], n: number): number[] => {
      const a = [...from];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a.slice(0, n);
    };
    const log = (what: string): void => {
      faults.push({ t: Math.round(performance.now() - t0), what });
    };

    const faultLoop = async (): Promise<void> => {
      const kinds = [
        'stop-leader',
        'partition-leader',
        'silent-leader',
        'stop-member',
        'restart-member',
        'partition-minority',
        'silent-minority',
        'cut-link',
      ];
      if (o.size >= 5) kinds.push('stop-two');
      // The first faults always hit the leader, in each way, so every seed changes leaders.
      const first = ['stop-leader', 'partition-leader', 'silent-leader', ...(o.size >= 5 ? ['stop-two'] : [])];
      let n = 0;
      while (!stopFaults && (performance.now() < deadline - 500 || n < MIN_FAULTS)) {
        await sleep(200 + Math.floor(rand() * 600)); // deliberate: quiet time between faults
        if (stopFaults) break;
        const kind = n < first.length ? first[n]! : pick(kinds);
        n++;
        // Deliberate: how long the fault lasts (silent ones outlast syncLimit, 1 s, most of the time).
        const hold = kind.startsWith('silent') ? 700 + Math.floor(rand() * 2000) : 300 + Math.floor(rand() * 1500);
        const leader = cluster.leader() ?? pick(voters);
        const followers = voters.filter((v) => v !== leader);
        switch (kind) {
          case 'stop-leader':
            log(`stop leader ${leader} for ${hold} ms`);
            await cluster.stopMember(leader);
            await sleep(hold);
            await cluster.startMember(leader);
            break;
          case 'stop-member': {
            const v = pick(followers);
            log(`stop follower ${v} for ${hold} ms`);
            await cluster.stopMember(v);
            await sleep(hold);
            await cluster.startMember(v);
            break;
          }
          case 'stop-two': {
            const v = pick(followers);
            log(`stop leader ${leader} and follower ${v} for ${hold} ms`);
            await Promise.all([cluster.stopMember(leader), cluster.stopMember(v)]);
            await sleep(hold);
            await Promise.all([cluster.startMember(leader), cluster.startMember(v)]);
            break;
          }
          case 'restart-member': {
            const v = pick(voters);
            log(`restart ${v}${v === leader ? ' (leader)' : ''}`);
            await cluster.restartMember(v);
            break;
          }
          case 'partition-leader':
            log(`partition leader ${leader} away for ${hold} ms`);
            cluster.partition([leader]);
            await sleep(hold);
            cluster.healAll();
            break;
          case 'partition-minority': {
            const g = subset(voters, minority);
            log(`partition minority ${JSON.stringify(g)}${g.includes(leader) ? ' (with the leader)' : ''} for ${hold} ms`);
            cluster.partition(g);
            await sleep(hold);
            cluster.healAll();
            break;
          }
          case 'silent-leader': {
            log(`silent partition of leader ${leader} for ${hold} ms`);
            const heal = silence(cluster, [leader]);
            await sleep(hold);
            heal();
            break;
          }
          case 'silent-minority': {
            const g = subset(voters, minority);
            log(`silent partition of minority ${JSON.stringify(g)}${g.includes(leader) ? ' (with the leader)' : ''} for ${hold} ms`);
            const heal = silence(cluster, g);
            await sleep(hold);
            heal();
            break;
          }
          case 'cut-link': {
            const [a, b] = subset(voters, 2) as [number, number];
            log(`cut link ${a}-${b} for ${hold} ms`);
            cluster.cut(a, b);
            await sleep(hold);
            cluster.heal(a, b);
            break;
          }
        }
        await allServing(cluster, 20_000, `${tag} no recovery after "${faults[faults.length - 1]!.what}"`);
      }
    };

    const faultsDone = faultLoop().finally(() => {
      stopFaults = true;
      faultsOver = true;
    });
    const workersDone = Promise.all(clients.map((_, i) => worker(i)));
    try {
      await faultsDone;
    } finally {
      stopFaults = true;
      cluster.healAll();
      for (const id of ids) await cluster.startMember(id);
    }
    await allServing(cluster, 20_000, `${tag} no recovery at the end`);
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      workersDone,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error(`${tag} clients still busy 30 s after the end of the run`)), 30_000);
      }),
    ]).finally(() => clearTimeout(guard));
    clearInterval(monitor);
    monitor = undefined;

    // Final reads through every member, recorded too: every member must have converged.
    for (const id of ids) {
      const c = new ZooKeeperClient({ connectString: `127.0.0.1:${cluster.get(id).clientPort}`, sessionTimeoutMs: SESSION_TIMEOUT_MS });
      clients.push(c);
      await c.connect({ timeoutMs: 20_000 });
      for (const k of keys) {
        const r = await rec.read(`final@${id}`, k, async () => {
          await c.sync(k);
          return c.getData(k);
        });
        assert.equal(r.status, 'ok', `${tag} final read of ${k} on ${id}`);
        if (r.status === 'ok') assert.equal(Number(r.value), r.version, `${tag} ${k} on ${id}: value and version move together`);
      }
    }

    const history = rec.history();
    const count = (st: string): number => history.filter((op) => op.result.status === st).length;
    const reasons = new Map<string, number>();
    for (const op of history) {
      if (op.result.status === 'unknown') reasons.set(op.result.reason ?? '?', (reasons.get(op.result.reason ?? '?') ?? 0) + 1);
    }
    const result = checkLinearizable(history);
    const faultText = faults.map((f) => `  ${f.t} ms: ${f.what}`).join('\n');
    console.log(
      `${tag} ${history.length} ops in ${Math.round(performance.now() - t0)} ms: ${casOk} successful CAS, ` +
        `${count('fail')} BADVERSION, ${count('unknown')} unknown ${JSON.stringify(Object.fromEntries(reasons))}; ` +
        `${faults.length} faults, leaders ${leaders.join(' -> ')}, ${expirations} session expirations; ` +
        `checked in ${result.stats.elapsedMs.toFixed(1)} ms (${result.stats.steps} steps)\n${faultText}`,
    );
    assert.deepEqual(unexpected, [], `${tag} unexpected errors (${replay})`);
    if (result.ok !== true) {
      const text = result.ok === false ? `${result.explanation}\n${historyAround(history, result.detail.stuck, t0)}` : result.reason;
      assert.fail(`${tag} the history is not linearizable (${replay})\nfaults:\n${faultText}\nleaders: ${leaders.join(' -> ')}\n${text}`);
    }
    // The checker bites on this very history: a successful CAS replayed by another client is refused.
    const firstCas = history.findIndex((op) => op.kind === 'write' && op.result.status === 'ok' && op.client !== 'setup');
    const dup = { ...(history[firstCas] as HistoryOp), client: 'dup' } as HistoryOp;
    assert.equal(checkLinearizable([...history, dup]).ok, false, `${tag} a duplicated CAS was accepted`);
    // The run did real work under real faults.
    assert.ok(casOk >= 50, `${tag} only ${casOk} successful CAS (${replay})`);
    assert.ok(history.length >= 300, `${tag} only ${history.length} ops (${replay})`);
    assert.ok(faults.length >= MIN_FAULTS, `${tag} only ${faults.length} faults (${replay})`);
    assert.ok(leaders.length >= 3, `${tag} leaders ${leaders.join(' -> ')}: fewer than 2 leader changes (${replay})`);
    assert.ok(count('unknown') > 0, `${tag} no operation was hit by a fault (${replay})`);
  } finally {
    if (monitor) clearInterval(monitor);
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await cluster.close();
  }
}

/** Every op of the stuck op's key within 2 s of it, for the failure message. */
function historyAround(history: HistoryOp[], stuck: HistoryOp, t0: number): string {
  const lo = stuck.invokeMs - 2000;
  const hi = (stuck.completeMs ?? stuck.invokeMs) + 500;
  const lines = history
    .map((op, i) => ({ op, i }))
    .filter(({ op }) => op.key === stuck.key && (op.completeMs ?? Infinity) >= lo && op.invokeMs <= hi)
    .map(({ op, i }) => `    ${describeOp(op, i, t0)}`);
  return `  ops of ${stuck.key} around it (ms since the run began):\n${lines.join('\n')}`;
}

const envSeed = process.env.LIN_SEED ? Number(process.env.LIN_SEED) : undefined;
const envMs = process.env.LIN_MS ? Number(process.env.LIN_MS) : undefined;
const seedFor = (base: number): number => envSeed ?? base ^ (Date.now() & 0xffff);

test('3 members: CAS increments and sync+reads under crashes, leader failovers and partitions are linearizable', async () => {
  await run({ name: '3 members', size: 3, clients: 8, pinned: 3, keys: 3, ms: envMs ?? 14_000, seed: seedFor(0x3a110000) });
});

test('5 members: the same with two members down at once', async () => {
  await run({ name: '5 members', size: 5, clients: 10, pinned: 3, keys: 3, ms: envMs ?? 12_000, seed: seedFor(0x5a110000) });
});
