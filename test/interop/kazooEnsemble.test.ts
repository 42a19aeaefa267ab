// Runs kazoo's own test suite (Debian python3-kazoo 2.8.0) against a 3-member clustergenie
// ensemble, started by kazoo's own harness (ZOOKEEPER_CLUSTER_SIZE=3: three `java ...
// QuorumPeerMain zoo.cfg` launches with server.N lines and a myid each, which the java shim turns
// into three `clustergenie zookeeper --config` processes). It asserts that every test that passes
// against a 3-node Apache ZooKeeper 3.8 ensemble (test/interop/kazoo/baseline-apache-3.8-ensemble.txt)
// also passes here, apart from the documented exceptions in
// test/interop/kazoo/exceptions-ensemble.txt. Reconfig, read-only and SASL tests are not run
// (test/interop/kazoo/excluded-ensemble.txt). See docs/KAZOO.md, "Ensemble run".
//
// Environment (the same variables as kazoo.test.ts; file names carry "-ensemble"):
//   KAZOO_TARGET=apache       runs the same check against a real Apache ensemble (validates this wrapper)
//   KAZOO_RESULTS_DIR=<dir>   keeps results-<target>-ensemble.txt, junit-*, run-* and server-* logs there
//                             (default: a fresh temp dir, printed as a diagnostic)
//   KAZOO_RERUN=0             no re-run of a handful of failed tests
//   KAZOO_PYTHON              the interpreter with kazoo, pytest and pytest-timeout (default /usr/bin/python3)
//   KAZOO_CG_LOG_LEVEL        clustergenie's --log-level for the members (default: info, so that a
//                             failure comes with role changes and connection events in the server log)
// Missing python3/pytest/pytest-timeout/kazoo is a failure, not a skip.
import { test } from 'node:test';
import { checkKazooSuite } from './helpers/kazooCheck.js';

const SIZE = 3;
// One full run takes about 2 minutes on 2 cores (docs/KAZOO.md); the cap only bounds a run
// that hangs, so that `npm test` stays far below its 30 minute budget even then.
const RUN_TIMEOUT_S = 900;
const RERUN_TIMEOUT_S = 300;

test(
  'kazoo 2.8.0 test suite against a 3-member ensemble: everything that passes against a 3-node Apache ZooKeeper 3.8 passes',
  { timeout: (RUN_TIMEOUT_S + RERUN_TIMEOUT_S + 300) * 1000 },
  (t) =>
    checkKazooSuite(t, {
      size: SIZE,
      baselineFile: 'baseline-apache-3.8-ensemble.txt',
      exceptionsFile: 'exceptions-ensemble.txt',
      tmpPrefix: 'kazoo-ensemble-',
      preflight: 'ensemble (3 members start, answer ruok, serve as leader/follower, exit on SIGTERM)',
      runTimeoutS: RUN_TIMEOUT_S,
      rerunTimeoutS: RERUN_TIMEOUT_S,
      env: { KAZOO_CG_LOG_LEVEL: process.env.KAZOO_CG_LOG_LEVEL ?? 'info' },
    }),
);
