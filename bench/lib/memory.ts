// Memory with many znodes: a fresh ensemble of one implementation is filled with `znodes` znodes
// of `valueBytes` bytes by the load generator's create workload (repeated until every member's
// mntr zk_znode_count reaches the target), then each server's VmRSS / VmHWM is read, and for
// Apache also the Java heap used after a full GC (`jcmd <pid> GC.run`, then `GC.heap_info`).

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mntr } from '../../test/helpers/net.js';
import { memory } from './procstat.js';
import { HOST, startServers, type Impl } from './servers.js';
import { addCounts } from './stats.js';
import { runLoad } from './zkload.js';

const execFileP = promisify(execFile);
const JCMD = process.env['JCMD'] ?? '/usr/bin/jcmd';

export interface MemoryMember {
  id: number;
  rssMb: number;
  hwmMb: number;
  /** Apache: Java heap used after a full GC, MB. */
  heapUsedMb?: number;
}

export interface MemoryResult {
  impl: Impl;
  members: number;
  targetZnodes: number;
  /** zk_znode_count when measured (the loadgen may overshoot a little; includes / and /zookeeper...). */
  znodes: number;
  createSeconds: number;
  createErrors: number;
  errorCodes: Record<string, number>;
  servers: MemoryMember[];
}

export interface MemoryOptions {
  znodes: number;
  size: number;
  sessions: number;
  depth: number;
  workers: number;
  valueBytes: number;
  log?: (line: string) => void;
}

/** mntr zk_znode_count of the server on `port`. */
export async function znodeCount(port: number): Promise<number> {
  return Number((await mntr(HOST, port, 10_000)).get('zk_znode_count') ?? NaN);
}

/**
 * Heap used (KB) from `jcmd <pid> GC.heap_info`: the sum of the `total NK, used NK` lines of the
 * heap (one for G1, one per generation for serial/parallel), not Metaspace or class space.
 */
export function parseHeapUsedKb(text: string): number {
  let used = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (/Metaspace|class space/.test(line)) continue;
    const m = /total \d+K, used (\d+)K/.exec(line);
    if (m) {
      used += Number(m[1]);
      found = true;
    }
  }
  if (!found) throw new Error(`no heap usage in jcmd output:\n${text}`);
  return used;
}

async function apacheHeapUsedMb(pid: number): Promise<number> {
  await execFileP(JCMD, [String(pid), 'GC.run'], { timeout: 120_000 });
  const { stdout } = await execFileP(JCMD, [String(pid), 'GC.heap_info'], { timeout: 60_000 });
  return parseHeapUsedKb(stdout) / 1024;
}

export async function measureMemory(impl: Impl, opts: MemoryOptions): Promise<MemoryResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ens = await startServers(impl, opts.size);
  try {
    const hosts = ens.hosts();
    const ports = ens.ids.map((id) => ens.member(id).clientPort);
    const count = async (): Promise<number> => Math.min(...(await Promise.all(ports.map(znodeCount))));
    let n = await count();
    let seconds = 0;
    let errors = 0;
    const errorCodes: Record<string, number> = {};
    // Chunks of at most 20 s: the first measures the rate (a 10k/s guess), each next one aims at
    // 3/4 of what is left at the rate seen (a JVM speeds up as it warms), so the overshoot is small.
    let chunkMs = Math.min(5000, Math.max(300, Math.ceil(((opts.znodes - n) / 10_000) * 1000)));
    for (let i = 0; n < opts.znodes; i++) {
      const r = await runLoad({
        hosts,
        workload: 'create',
        sessions: opts.sessions,
        depth: opts.depth,
        workers: opts.workers,
        valueBytes: opts.valueBytes,
        warmupMs: 0,
        durationMs: chunkMs,
        root: `/mem${i}`,
      });
      seconds += r.seconds;
      errors += r.errors;
      addCounts(errorCodes, r.errorCodes);
      // Followers apply commits a moment after the leader acknowledged them.
      let last = -1;
      for (let k = 0; k < 100; k++) {
        n = await count();
        if (n >= opts.znodes || n === last) break;
        last = n;
        await new Promise((res) => setTimeout(res, 200));
      }
      const rate = r.opsPerSec > 0 ? r.opsPerSec : 1000;
      log(`memory ${impl}: ${n} znodes (${Math.round(rate)} creates/s)`);
      chunkMs = Math.min(20_000, Math.max(100, Math.ceil(((opts.znodes - n) / rate) * 1000 * 0.75)));
    }
    const servers: MemoryMember[] = [];
    for (const id of ens.ids) {
      const pid = ens.pid(id)!;
      const m = memory(pid);
      if (!m) throw new Error(`member ${id} (pid ${pid}) is gone`);
      const s: MemoryMember = { id, rssMb: m.rssMb, hwmMb: m.hwmMb };
      if (impl === 'apache') s.heapUsedMb = await apacheHeapUsedMb(pid);
      servers.push(s);
    }
    return {
      impl,
      members: opts.size,
      targetZnodes: opts.znodes,
      znodes: n,
      createSeconds: seconds,
      createErrors: errors,
      errorCodes,
      servers,
    };
  } catch (e) {
    log(`memory ${impl}: ${(e as Error).message}\n${ens.logs(3000)}`);
    throw e;
  } finally {
    await ens.close();
  }
}
