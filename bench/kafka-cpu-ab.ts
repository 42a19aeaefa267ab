// A/B probe of our broker's CPU per MiB: builds side by side (e.g. `npx tsc --outDir .build-old` at
// the old commit, `dist` at the new one), alternated, a fresh broker process per run on one Apache
// ZooKeeper 3.8; per run kafkaload produces N records at acks=1, N more at acks=all, then consumes
// all 2N, and the broker's CPU (utime+stime, /proc/<pid>/stat) is read around each step. On a
// shared machine throughput is noise; CPU per unit of work is what this reports, with the kernel's
// share of it (stime: syscall copies, TCP) per step.
//
//   node dist/bench/kafka-cpu-ab.js <records> <runs per build> <buildDir> [<buildDir> ...] [--node-flag ...]
//     a buildDir holds src/cli/main.js (a tsc outDir); runs alternate the builds' order
//     node flags (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof) go to every broker
//   CG_AB_SIZE=1024 (value bytes), CG_AB_PARTITIONS=6, CG_AB_STEPS=p1,pall,cons (not KAFKA_*: the
//   broker reads KAFKA_* variables as server.properties keys)
//   KAFKALOAD=<path> uses an already built kafkaload instead of compiling one (bench/lib/kafkaLoad.ts)

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { probeMetadataBrokers } from '../test/helpers/apacheKafka.js';
import { startApacheZooKeeper } from '../test/helpers/apacheZk.js';
import { killOnExit } from '../test/helpers/children.js';
import { freePort } from '../test/helpers/net.js';
import { runKafkaload } from './lib/kafkaLoad.js';
import { clockTicks, cpuSeconds } from './lib/procstat.js';

const HOST = '127.0.0.1';
type Step = 'p1' | 'pall' | 'cons';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function brokerCpu(pid: number): number {
  const c = cpuSeconds(pid);
  if (c === undefined) throw new Error(`broker process ${pid} is gone: see its stderr above`);
  return c;
}

/** The broker's kernel time (stime, seconds): tells syscall copies from our own JS work. */
function brokerSysCpu(pid: number): number {
  const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(rest[15 - 3]) / clockTicks();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const nodeArgs = args.filter((a) => a.startsWith('--'));
  const [recordsArg, runsArg, ...builds] = args.filter((a) => !a.startsWith('--'));
  const records = Number(recordsArg);
  const runs = Number(runsArg);
  if (!(records > 0) || !(runs > 0) || builds.length === 0) {
    throw new Error('usage: kafka-cpu-ab.js <records> <runs per build> <buildDir> [<buildDir> ...] [--node-flag ...]');
  }
  const size = Number(process.env['CG_AB_SIZE'] ?? 1024);
  const partitions = Number(process.env['CG_AB_PARTITIONS'] ?? 6);
  const steps = (process.env['CG_AB_STEPS'] ?? 'p1,pall,cons').split(',') as Step[];
  const samples = new Map<string, number[]>();
  const zk = await startApacheZooKeeper();
  let seq = 0;
  try {
    for (let run = 0; run < runs; run++) {
      for (const build of run % 2 === 0 ? builds : [...builds].reverse()) {
        const dir = await mkdtemp(join(tmpdir(), 'cg-kafka-ab-'));
        const port = await freePort();
        const cfg = join(dir, 'server.properties');
        const props = [
          'broker.id=0',
          `listeners=PLAINTEXT://${HOST}:${port}`,
          `advertised.listeners=PLAINTEXT://${HOST}:${port}`,
          `log.dirs=${join(dir, 'data')}`,
          `zookeeper.connect=${zk.connectString}/kafka-ab-${process.pid}-${++seq}`,
          'num.partitions=1',
          'offsets.topic.replication.factor=1',
          'log.segment.bytes=1073741824',
        ];
        await writeFile(cfg, `${props.join('\n')}\n`);
        const mainJs = join(resolve(build), 'src', 'cli', 'main.js');
        // main.js runs the CLI when it is the entry point (as `up` starts its children).
        const child = spawn(process.execPath, [...nodeArgs, mainJs, 'kafka', '--config', cfg], {
          cwd: dir,
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        killOnExit(child);
        try {
          const deadline = Date.now() + 60_000;
          while (
            !(await probeMetadataBrokers(HOST, port, 2000).then(
              (ids) => ids.includes(0),
              () => false,
            ))
          ) {
            if (child.exitCode !== null || Date.now() > deadline) throw new Error(`broker of ${build} did not serve Metadata within 60 s`);
            await new Promise((r) => setTimeout(r, 20));
          }
          const bootstrap = `${HOST}:${port}`;
          await runKafkaload(['create', bootstrap, 't', String(partitions)], 60_000);
          let stored = 0;
          const row: string[] = [];
          for (const step of steps) {
            const before = brokerCpu(child.pid!);
            const sysBefore = brokerSysCpu(child.pid!);
            const r =
              step === 'cons'
                ? await runKafkaload(['consume', bootstrap, 't', String(partitions), String(stored)])
                : await runKafkaload(['produce', bootstrap, 't', String(size), String(records), step === 'p1' ? '1' : 'all']);
            const cpuMs = 1000 * (brokerCpu(child.pid!) - before);
            const sysMs = 1000 * (brokerSysCpu(child.pid!) - sysBefore);
            if (step !== 'cons') stored += Number(r['records']);
            const perMiB = cpuMs / (Number(r['bytes']) / 1048576);
            const key = `${build} ${step}`;
            samples.set(key, [...(samples.get(key) ?? []), perMiB]);
            row.push(`${step} ${perMiB.toFixed(2)} ms/MiB (sys ${cpuMs > 0 ? Math.round((100 * sysMs) / cpuMs) : 0}%)`);
          }
          console.log(`run ${run} ${build}: ${row.join(', ')} (load ${loadavg()[0]?.toFixed(1)})`);
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
          await rm(dir, { recursive: true, force: true });
        }
      }
    }
  } finally {
    await zk.stop();
  }
  console.log(`\nbroker CPU ms per MiB of values, median (min–max), ${size} B x ${records} records, ${partitions} partitions:`);
  for (const [key, xs] of samples) {
    console.log(`${key}: ${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}) n=${xs.length}`);
  }
}

main().catch((e: unknown) => {
  console.error(`kafka-cpu-ab: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
