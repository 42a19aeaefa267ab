// Leader failover of a 3-member ensemble (ours or Apache ZooKeeper 3.8), members as separate
// processes. Clients write continuously; the leader is killed with SIGKILL; measured from the
// kill to
//   - failoverMs: the first acknowledged write committed by the new leader (its zxid is in the
//     new epoch), i.e. the write service is back;
//   - electionMs: the first `srvr` that shows a new leader (polled every 20 ms).
// Then the killed member is restarted, everyone serves again, and the next repetition kills the
// (new) leader. Used by bench/zk-failover.ts and bench/zk-bench.ts.
//
// The clients retry a lost connection after at most 50 ms (reconnectDelayMaxMs), so the client's
// back-off adds little to the measurement (Java's client sleeps up to 1 s before reconnecting).

import { ZooKeeperClient } from '../../src/zookeeper/client/index.js';
import { waitFor } from '../../test/helpers/wait.js';
import { startServers, type Impl } from './servers.js';
import { summarize, type Summary } from './stats.js';

const EPOCH = 2 ** 32;

export interface FailoverOptions {
  /** Kills of the leader (default 3). */
  repeat?: number;
  /** Sessions writing, one write outstanding each; session i starts on member i % 3 (default 3). */
  writers?: number;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface FailoverRun {
  killed: number;
  newLeader: number | undefined;
  failoverMs: number;
  electionMs: number;
}

export interface FailoverResult {
  failoverMs: Summary;
  electionMs: Summary;
  runs: FailoverRun[];
  /** Writes that failed (connection loss during the failover is expected). */
  writeErrors: number;
}

export const FAILOVER_NOTE =
  'kill -9 of the leader on loopback, members as separate processes on one machine; failoverMs = kill to the first ' +
  'acknowledged write committed in the new epoch, electionMs = kill to the first srvr showing a new leader (20 ms polling); ' +
  'clients reconnect with at most 50 ms back-off';

/** Sessions writing creates back to back; every ack recorded with its time and zxid. */
class Writers {
  private running = true;
  readonly acks: { at: number; zxid: number }[] = [];
  errors = 0;
  private readonly clients: ZooKeeperClient[] = [];
  private loops: Promise<void>[] = [];

  constructor(
    private readonly hosts: string[],
    private readonly count: number,
  ) {}

  async start(root: string): Promise<void> {
    for (let i = 0; i < this.count; i++) {
      const k = i % this.hosts.length;
      const hs = [...this.hosts.slice(k), ...this.hosts.slice(0, k)];
      const c = new ZooKeeperClient({
        connectString: hs.join(','),
        shuffleHosts: false,
        sessionTimeoutMs: 30_000,
        reconnectDelayMaxMs: 50,
        closeTimeoutMs: 1000,
      });
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

  /** The first ack from index `from` on that satisfies `ok`. */
  firstAck(from: number, ok: (a: { at: number; zxid: number }) => boolean): { at: number; zxid: number } | undefined {
    for (let k = from; k < this.acks.length; k++) if (ok(this.acks[k]!)) return this.acks[k];
    return undefined;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(this.loops);
  }
}

/** Starts a fresh 3-member ensemble of `impl`, kills its leader `repeat` times, closes it. */
export async function measureFailover(impl: Impl, opts: FailoverOptions = {}): Promise<FailoverResult> {
  const repeat = opts.repeat ?? 3;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // The benchmarks' cluster settings (servers.ts clusterConfig): tickTime 2000, initLimit 10, syncLimit 5.
  const ens = await startServers(impl, 3);
  const writers = new Writers(ens.hosts(), opts.writers ?? 3);
  const failover: number[] = [];
  const election: number[] = [];
  const runs: FailoverRun[] = [];
  try {
    await writers.start('/failover-bench');
    for (let r = 1; r <= repeat; r++) {
      const leader = await ens.waitServing(3, 120_000);
      // Steady state: writes flowing for a moment before the kill.
      const n0 = writers.acks.length;
      await waitFor(() => writers.acks.length >= n0 + 200, { timeoutMs: 60_000, intervalMs: 20, what: 'writes before the kill' });
      const oldEpoch = Math.floor(writers.acks[writers.acks.length - 1]!.zxid / EPOCH);
      const acksBeforeKill = writers.acks.length;
      const killAt = await ens.kill9(leader);
      const elected = await waitFor(
        async () => {
          const l = await ens.leader();
          return l !== undefined && l !== leader ? { id: l, at: Date.now() } : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 20, what: 'a new leader' },
      );
      const electedAt = elected.at;
      // Only acks recorded after the kill can be the first of the new epoch.
      const firstAck = await waitFor(
        () => writers.firstAck(acksBeforeKill, (a) => a.at > killAt && Math.floor(a.zxid / EPOCH) > oldEpoch),
        {
          timeoutMs: 120_000,
          intervalMs: 20,
          what: 'a write in the new epoch',
        },
      );
      failover.push(firstAck.at - killAt);
      election.push(electedAt - killAt);
      runs.push({ killed: leader, newLeader: elected.id, failoverMs: firstAck.at - killAt, electionMs: electedAt - killAt });
      log(
        `failover ${impl} #${r}: killed leader ${leader}; new leader after ${electedAt - killAt} ms, first write ${firstAck.at - killAt} ms`,
      );
      ens.start(leader);
      await ens.waitServing(3, 120_000, [leader]);
    }
  } catch (e) {
    log(`failover ${impl}: ${(e as Error).message}\n${ens.logs(4000)}`);
    throw e;
  } finally {
    await writers.stop();
    await ens.close();
  }
  return { failoverMs: summarize(failover), electionMs: summarize(election), runs, writeErrors: writers.errors };
}
