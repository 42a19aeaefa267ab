// Failover time of a 3-member ZooKeeper ensemble: ours (and Apache ZooKeeper 3.8 from the
// Debian jars, if present) as separate processes with ZooKeeper's default timing (tickTime 2000,
// initLimit 10, syncLimit 5, forceSync=yes). The measurement is bench/lib/failover.ts (also used
// by `npm run bench:zk`). Reports min/median/max to bench/results/zk-failover.json and prints it.
//
//   npm run bench:zk-failover
//   BENCH_REPEAT=5        repetitions per implementation
//   BENCH_WRITERS=3       sessions writing (one starts on each member), one write outstanding each
//   BENCH_APACHE=0        skip Apache ZooKeeper
//   BENCH_APACHE_JVM      stock (default) or test: Apache's JVM flags (bench/lib/servers.ts)
//   BENCH_TICK_MS=2000    tickTime of both ensembles (bench/lib/servers.ts clusterConfig)
//   BENCH_OUT=<file>      where the JSON goes (default bench/results/zk-failover.json)

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { FAILOVER_NOTE, measureFailover } from './lib/failover.js';
import { apacheInstalled, apacheJvmMode, clusterConfig } from './lib/servers.js';

const REPEAT = Number(process.env['BENCH_REPEAT'] ?? 5);
const WRITERS = Number(process.env['BENCH_WRITERS'] ?? 3);
const APACHE = process.env['BENCH_APACHE'] !== '0' && apacheInstalled();
const OUT = process.env['BENCH_OUT'] ?? 'bench/results/zk-failover.json';

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};
  const opts = { repeat: REPEAT, writers: WRITERS };
  const c = clusterConfig();
  results['clustergenie'] = await measureFailover('clustergenie', opts);
  if (APACHE) results['apache-3.8'] = await measureFailover('apache', opts);
  const out = {
    date: new Date().toISOString(),
    repeat: REPEAT,
    writers: WRITERS,
    config: { members: 3, tickTime: c.tickTimeMs, initLimit: c.initLimit, syncLimit: c.syncLimit, forceSync: 'yes' },
    apacheJvm: apacheJvmMode(),
    results,
    note: FAILOVER_NOTE,
  };
  mkdirSync(dirname(OUT), { recursive: true });
  writeFileSync(OUT, `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
