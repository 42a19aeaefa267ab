// How the benchmarks start servers: both implementations through ProcessEnsemble (the same
// spawn from this process, same session, same zoo.cfg keys from writeEnsembleLayout), data
// directories in the OS temp dir, forceSync=yes. One member = standalone (Apache's rule, and ours).
//
// Apache's JVM: BENCH_APACHE_JVM=stock (default) runs it as Debian's zkServer.sh does (the JVM's
// default heap, collector and JIT; apacheJavaArgs' `stock` flavor); BENCH_APACHE_JVM=test keeps
// the test suite's quick-start flags (C1 only, serial GC, 256 MB heap), which favour start-up
// over throughput.

import { existsSync } from 'node:fs';
import { apacheJavaArgs } from '../../test/helpers/apacheZk.js';
import { ProcessEnsemble, type EnsembleFlavor } from '../../test/helpers/ourEnsemble.js';

export type Impl = EnsembleFlavor;
export const IMPLS: readonly Impl[] = ['clustergenie', 'apache'];
export const APACHE_JAR = '/usr/share/java/zookeeper.jar';
export const HOST = '127.0.0.1';

export function apacheInstalled(): boolean {
  return existsSync(APACHE_JAR);
}

export function apacheJvmMode(): 'stock' | 'test' {
  return process.env['BENCH_APACHE_JVM'] === 'test' ? 'test' : 'stock';
}

/** The JVM flags Apache members get in this mode (for the report). */
export function apacheJvmFlags(): string[] {
  return apacheJavaArgs('Main', [], {}, apacheJvmMode()).filter((a) => a.startsWith('-X'));
}

export interface ClusterConfig {
  tickTimeMs: number;
  initLimit: number;
  syncLimit: number;
}

/** ZooKeeper's sample defaults (zoo_sample.cfg): tickTime 2000, initLimit 10, syncLimit 5. */
export function clusterConfig(): ClusterConfig {
  return {
    tickTimeMs: Number(process.env['BENCH_TICK_MS'] ?? 2000),
    initLimit: 10,
    syncLimit: 5,
  };
}

export interface StartOptions {
  waitServing?: boolean;
}

/** A fresh ensemble (fresh temp dirs) of `size` members of one implementation. */
export function startServers(impl: Impl, size: number, opts: StartOptions = {}): Promise<ProcessEnsemble> {
  const c = clusterConfig();
  return ProcessEnsemble.start({
    size,
    flavor: impl,
    tickTimeMs: c.tickTimeMs,
    initLimit: c.initLimit,
    syncLimit: c.syncLimit,
    forceSync: true,
    logLevel: 'warn',
    apacheJvm: apacheJvmMode(),
    waitServing: opts.waitServing ?? true,
    startTimeoutMs: 120_000,
  });
}

/** The pids of every running member. */
export function serverPids(ens: ProcessEnsemble): number[] {
  return ens.ids.map((id) => ens.pid(id)).filter((p): p is number => p !== undefined);
}

/** The zoo.cfg keys both implementations get (writeEnsembleLayout), for the report header. */
export function configKeys(): Record<string, string> {
  const c = clusterConfig();
  return {
    tickTime: String(c.tickTimeMs),
    initLimit: String(c.initLimit),
    syncLimit: String(c.syncLimit),
    forceSync: 'yes',
    maxClientCnxns: '0',
    '4lw.commands.whitelist': '*',
    'admin.enableServer': 'false',
    dataDir: '<OS temp dir>/zkN (txn log in the data dir)',
  };
}

export function label(impl: Impl): string {
  return impl === 'clustergenie' ? 'ClusterGenie' : 'Apache 3.8';
}
