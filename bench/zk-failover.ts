// Failover time of a 3-member ZooKeeper ensemble: ours (and Apache ZooKeeper 3.8 from the
// Debian jars, if present) as separate processes with ZooKeeper's default timing (tickTime 2000,
// initLimit 10, syncLimit 5, forceSync=yes). Clients write continuously; the leader is killed
// with SIGKILL; measured from the kill to
//   - failoverMs: the first acknowledged write committed by the new leader (its zxid is in the
//     new epoch), i.e. the write service is back;
//   - electionMs: the first `srvr` that shows a new leader (polled every 20 ms).
// Then the killed member is restarted, everyone serves again, and the next repetition kills the
// (new) leader. Reports min/median/max to bench/results/zk-failover.json and prints it.
//
//   npm run bench:zk-failover
//   BENCH_REPEAT=5        repetitions per implementation
//   BENCH_WRITERS=3       sessions writing (one starts on each member), one write outstanding each
//   BENCH_APACHE=0        skip Apache ZooKeeper
//   BENCH_TICK_MS=2000    tickTime of both ensembles
//   BENCH_OUT=<file>      where the JSON goes (default bench/results/zk-failover.json)
//
// The clients retry a lost connection after at most 50 ms (reconnectDelayMaxMs), so the client's
// back-off adds little to the measurement (Java's client sleeps up to 1 s before reconnecting).

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ZooKeeperClient } from '../src/zookeeper/client/index.js';
import { ProcessEnsemble, type EnsembleFlavor } from '../test/helpers/ourEnsemble.js';

const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 5);
const WRITERS = Number(process.env['BENCH_WRITERS'] ?? 3);
const APACHE = process.env['BENCH_APACHE'] !== '0' && existsSync('/usr/share/java/zookeeper.jar');
const TICK_MS = Number(process.env['BENCH_TICK_MS'] ?? 2000);
const OUT = process.env['BENCH_OUT'] ?? 'bench/results/zk-failover.json';
const EPOCH = 2 ** 32;

interface Stats {
  min: number;
  median: number;
  max: number;
  samples: number[];
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { min: s[0] ?? NaN, median, max: s[s.length - 1] ?? NaN, samples: xs };
}

async function until<T>(f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, intervalMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Sessions writing creates back to back; every ack recorded with its time and zxid. */
class Writers {
  private running = true;
  readonly acks: { at: number; zxid: number }[] = [];
  errors = 0;
  private readonly clients: ZooKeeperClient[] = [];
  private loops: Promise<void>[] = [];

  constructor(private readonly hosts: string[]) {}

  async start(root: string): Promise<void> {
    for (let i = 0; i < WRITERS; i++) {
      const hs = [...this.hosts.slice(i % this.hosts.length), ...this.hosts.slice(0, i % this.hosts.length)];
      const c = new ZooKeeperClient({ connectString: hs.join(','), shuffleHosts: false, sessionTimeoutMs: 30_000, reconnectDelayMaxMs: 50, closeTimeoutMs: 1000 });
      await c.connect({ timeoutMs: 30_000 });
      this.clients.push(c);
    }
    await this.clients[0]!.create(root, null).catch(() => undefined);
    this.loops = this.clients.map(async (c, i) => {
      for (let k = 0; this.running; k++) {
        try {
          const r = await c.createWithStat(`${root}/w${i}-${k}`, 'x');
          this.acks.push({ at: Date.now(), zxid: r.stat.czxid });
        } catch {
          this.errors++;
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(this.loops);
  }
}

async function measure(flavor: EnsembleFlavor): Promise<{ failoverMs: Stats; electionMs: Stats; runs: unknown[] }> {
  const ens = await ProcessEnsemble.start({ size: 3, flavor, tickTimeMs: TICK_MS, initLimit: 10, syncLimit: 5, forceSync: true, logLevel: 'warn', startTimeoutMs: 120_000 });
  const writers = new Writers(ens.ids.map((id) => ens.connectString([id])));
  const failover: number[] = [];
  const election: number[] = [];
  const runs: unknown[] = [];
  try {
    await writers.start('/failover-bench');
    for (let r = 1; r <= REPEAT; r++) {
      const leader = await ens.waitServing(3, 120_000);
      // Steady state: writes flowing for a moment before the kill.
      const n0 = writers.acks.length;
      await until(() => (writers.acks.length >= n0 + 200 ? true : undefined), 60_000, 'writes before the kill');
      const oldEpoch = Math.floor(writers.acks[writers.acks.length - 1]!.zxid / EPOCH);
      const killAt = await ens.kill9(leader);
      const electedAt = await until(async () => {
        const l = await ens.leader();
        return l !== undefined && l !== leader ? Date.now() : undefined;
      }, 120_000, 'a new leader');
      const firstAck = await until(() => writers.acks.find((a) => a.at > killAt && Math.floor(a.zxid / EPOCH) > oldEpoch), 120_000, 'a write in the new epoch');
      failover.push(firstAck.at - killAt);
      election.push(electedAt - killAt);
      runs.push({ killed: leader, newLeader: await ens.leader(), failoverMs: firstAck.at - killAt, electionMs: electedAt - killAt });
      process.stderr.write(`${flavor} #${r}: killed leader ${leader}; new leader after ${electedAt - killAt} ms, first write ${firstAck.at - killAt} ms\n`);
      ens.start(leader);
      await ens.waitServing(3, 120_000, [leader]);
    }
  } catch (e) {
    process.stderr.write(`${flavor}: ${(e as Error).message}\n${ens.logs(4000)}\n`);
    throw e;
  } finally {
    await writers.stop();
    await ens.close();
  }
  return { failoverMs: stats(failover), electionMs: stats(election), runs };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};
  results['clustergenie'] = await measure('clustergenie');
  if (APACHE) results['apache-3.8'] = await measure('apache');
  const out = {
    date: new Date().toISOString(),
    repeat: REPEAT,
    writers: WRITERS,
    config: { members: 3, tickTime: TICK_MS, initLimit: 10, syncLimit: 5, forceSync: 'yes' },
    results,
    note:
      'kill -9 of the leader on loopback, members as separate processes on one machine; failoverMs = kill to the first ' +
      'acknowledged write committed in the new epoch, electionMs = kill to the first srvr showing a new leader (20 ms polling); ' +
      'clients reconnect with at most 50 ms back-off',
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
