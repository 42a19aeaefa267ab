// Apache Curator 5.9.0 (Maven Central), unchanged, against three-member ensembles: Apache ZooKeeper
// 3.8 (Debian) and 3.9.5 (Maven Central) as the oracles, then ours. One Java program
// (test/interop/curator/src, see helpers/curatorCheck.ts) runs every recipe scenario — leader latch
// and selector, mutex, read-write lock, semaphore, barriers, CuratorCache and the older caches,
// persistent watchers, queue, group membership, atomic long, shared count, transactions, ACLs,
// persistent and TTL nodes, session expiry, /zookeeper/config as Curator reads it — and
// last a failover: the leader is killed (kill -9) while a latch, a lock holder and a cache are live.
// Each Apache ensemble must pass every scenario (so the check cannot pass vacuously), and ours must
// pass every scenario an Apache version passes, KNOWN_EXCEPTIONS aside.
// Needs scripts/fetch-curator.sh's cache (the test fails naming it otherwise) and a JDK 17.

import assert from 'node:assert/strict';
import { after, before, type TestContext, test } from 'node:test';
import { ProcessEnsemble } from '../helpers/ourEnsemble.js';
import { type CheckRun, compileCuratorCheck, curatorClasspath, runCuratorCheck } from './helpers/curatorCheck.js';

/** Scenarios ours may fail while Apache passes them, each with its reason (none today). */
const KNOWN_EXCEPTIONS: Record<string, string> = {};

/** Every scenario the program runs (with --ttl --failover); Apache must pass all of them. */
const SCENARIOS = [
  'leaderLatch',
  'leaderSelector',
  'mutex',
  'readWriteLock',
  'semaphoreV2',
  'barrier',
  'doubleBarrier',
  'curatorCache',
  'pathChildrenCache',
  'nodeCache',
  'treeCache',
  'persistentWatcher',
  'queue',
  'groupMember',
  'atomicLong',
  'sharedCount',
  'transaction',
  'aclDigest',
  'persistentNode',
  'sessionExpiry',
  'ensembleConfig',
  'ttlNode',
  'persistentTtlNode',
  'failover',
];

/** Containers and expired TTL nodes are reaped every this many ms (ZooKeeper's default is a minute). */
const CONTAINER_CHECK_MS = '500';
/** Curator asks for 15 s sessions; the default cap (20 ticks of 200 ms) would cut them to 4 s. */
const MAX_SESSION_TIMEOUT_MS = '30000';

let classes: string;
/** The oracles' runs (Apache 3.8 and 3.9), for the comparison with ours. */
const oracleRuns = new Map<string, CheckRun>();

before(async () => {
  classes = await compileCuratorCheck();
});

type Kind = 'apache-3.8' | 'apache-3.9' | 'clustergenie';

async function startEnsemble(kind: Kind): Promise<ProcessEnsemble> {
  if (kind === 'clustergenie') {
    return ProcessEnsemble.start({
      flavor: 'clustergenie',
      logLevel: 'warn',
      extraConfig: { maxSessionTimeout: MAX_SESSION_TIMEOUT_MS, 'znode.container.checkIntervalMs': CONTAINER_CHECK_MS },
    });
  }
  return ProcessEnsemble.start({
    flavor: 'apache',
    extraConfig: { maxSessionTimeout: MAX_SESSION_TIMEOUT_MS },
    // Apache reads these two only as system properties.
    apacheSysProps: { 'zookeeper.extendedTypesEnabled': 'true', 'znode.container.checkIntervalMs': CONTAINER_CHECK_MS },
    ...(kind === 'apache-3.9' ? { apacheClasspath: curatorClasspath() } : {}),
    startTimeoutMs: 60_000,
  });
}

let current: ProcessEnsemble | undefined;
after(async () => {
  await current?.close();
});

function describe(run: CheckRun): string {
  const lines = [...run.results].map(([n, r]) => `  ${r.pass ? 'PASS' : 'FAIL'} ${n}: ${r.detail}`);
  return `${lines.join('\n')}\n  done=${run.done} exit=${run.exitCode}\n--- stderr tail ---\n${run.stderrTail.slice(-4000)}`;
}

/** One diagnostic line per scenario, so a passing run still shows what ran and how long it took. */
function report(t: TestContext, run: CheckRun): void {
  for (const [n, r] of run.results) t.diagnostic(`${r.pass ? 'PASS' : 'FAIL'} ${n}: ${r.detail}`);
}

async function runAgainst(kind: Kind): Promise<CheckRun> {
  const ens = await startEnsemble(kind);
  current = ens;
  try {
    let killed: number | undefined;
    const run = await runCuratorCheck(classes, ens.connectString(), {
      ttl: true,
      failover: async () => {
        const leader = await ens.waitServing(3, 20_000);
        await ens.kill9(leader);
        killed = leader;
        return String(leader);
      },
    });
    if (kind !== 'clustergenie') oracleRuns.set(kind, run);
    if (killed !== undefined) {
      // The two survivors elect a new leader among themselves.
      const next = await ens.waitServing(2, 30_000);
      assert.notEqual(next, killed, `the killed member ${killed} leads again`);
    }
    assert.deepEqual(ens.unexpectedExits, [], `members exited unexpectedly\n${ens.logs()}`);
    return run;
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${ens.logs()}`);
  } finally {
    await ens.close();
    current = undefined;
  }
}

for (const kind of ['apache-3.8', 'apache-3.9'] as const) {
  test(`Curator recipes pass against Apache ZooKeeper ${kind.slice(7)} (the oracle)`, { timeout: 240_000 }, async (t) => {
    const run = await runAgainst(kind);
    report(t, run);
    assert.ok(run.done, `the program did not finish\n${describe(run)}`);
    const failed = SCENARIOS.filter((n) => !run.results.get(n)?.pass);
    assert.deepEqual(failed, [], `scenarios failing against Apache ${kind}\n${describe(run)}`);
  });
}

test('Curator recipes pass against our ensemble wherever they pass against Apache', { timeout: 240_000 }, async (t) => {
  const run = await runAgainst('clustergenie');
  report(t, run);
  assert.ok(run.done, `the program did not finish\n${describe(run)}`);
  const passedOnApache = SCENARIOS.filter((n) => [...oracleRuns.values()].some((r) => r.results.get(n)?.pass));
  const failed = passedOnApache.filter((n) => !run.results.get(n)?.pass && !(n in KNOWN_EXCEPTIONS));
  assert.deepEqual(failed, [], `scenarios passing on Apache but failing on ours\n${describe(run)}`);
  // With the oracles not run (e.g. --test-name-pattern), ours must still pass everything but the known exceptions.
  if (oracleRuns.size === 0) {
    const all = SCENARIOS.filter((n) => !run.results.get(n)?.pass && !(n in KNOWN_EXCEPTIONS));
    assert.deepEqual(all, [], `scenarios failing on ours\n${describe(run)}`);
  }
});
