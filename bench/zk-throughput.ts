// Quick throughput check: ClusterGenie vs Apache ZooKeeper 3.8 (Debian), standalone, with
// forceSync on and off (the cost of durability), the same load from our client (S sessions x D
// outstanding requests, 100-byte values). Both keep their data directories on the same disk
// (the OS temp dir). Writes a JSON report to bench/results/zk-throughput.json. Not a test; run
// with `npm run bench:zk`.
// The full side-by-side benchmark (neutral load generator, CPU per op, ensembles) is issue 5.

import { mkdirSync, writeFileSync } from 'node:fs';
import { ZooKeeperClient } from '../src/zookeeper/client/index.js';
import { startApacheZooKeeper } from '../test/helpers/apacheZk.js';
import { startOurZooKeeperProcess } from '../test/helpers/ourZk.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 8);
const DEPTH = Number(process.env.BENCH_DEPTH ?? 32);
const OPS = Number(process.env.BENCH_OPS ?? 20000);
const value = Buffer.alloc(100, 7);

async function drive(connectString: string, op: 'create' | 'setData' | 'getData'): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: SESSIONS }, async () => {
      const c = new ZooKeeperClient({ connectString, sessionTimeoutMs: 30_000, pendingRequestsMax: 10_000 });
      await c.connect();
      return c;
    }),
  );
  const root = `/bench-${op}-${process.hrtime.bigint()}`;
  await clients[0]!.create(root, null);
  if (op !== 'create') {
    await Promise.all(clients.map((c, i) => c.create(`${root}/n${i}`, value)));
  }
  const perSession = Math.ceil(OPS / SESSIONS);
  const start = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c, i) => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < perSession) {
          const k = next++;
          if (op === 'create') await c.create(`${root}/s${i}-${k}`, value);
          else if (op === 'setData') await c.setData(`${root}/n${i}`, value);
          else await c.getData(`${root}/n${i}`);
        }
      };
      await Promise.all(Array.from({ length: DEPTH }, worker));
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await Promise.all(clients.map((c) => c.close()));
  return (perSession * SESSIONS) / seconds;
}

async function main(): Promise<void> {
  const report: Record<string, Record<string, number>> = {};
  for (const [name, start] of [
    ['clustergenie forceSync=yes', () => startOurZooKeeperProcess({ extraConfig: { forceSync: 'yes' } })],
    ['apache-3.8 forceSync=yes', () => startApacheZooKeeper({ extraConfig: { forceSync: 'yes' } })],
    ['clustergenie forceSync=no', () => startOurZooKeeperProcess({ extraConfig: { forceSync: 'no' } })],
    ['apache-3.8 forceSync=no', () => startApacheZooKeeper({ extraConfig: { forceSync: 'no' } })],
  ] as const) {
    const zk = await start();
    try {
      report[name] = {};
      for (const op of ['create', 'setData', 'getData'] as const) {
        await drive(zk.connectString, op); // warm-up
        report[name]![op] = Math.round(await drive(zk.connectString, op));
      }
    } finally {
      await zk.stop();
    }
  }
  mkdirSync('bench/results', { recursive: true });
  const out = { sessions: SESSIONS, depth: DEPTH, ops: OPS, opsPerSecond: report, note: 'standalone, data dirs in the OS temp dir on the same disk; one run, not medians (issue 5 builds the full harness)' };
  writeFileSync('bench/results/zk-throughput.json', JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
