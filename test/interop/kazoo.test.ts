// Runs kazoo's own test suite (Debian python3-kazoo 2.8.0) against clustergenie through kazoo's
// harness and asserts that every test that passes against Apache ZooKeeper 3.8 standalone
// (test/interop/kazoo/baseline-apache-3.8.txt) also passes here, apart from the documented
// exceptions in test/interop/kazoo/exceptions.txt. See docs/KAZOO.md.
//
// KAZOO_TARGET=apache runs the same check against the real server (to validate this wrapper).
// KAZOO_RESULTS_DIR=<dir> keeps results.txt, junit.xml, run.log and server.log there
// (default: a fresh temp dir, printed as a diagnostic).
// Missing python3/pytest/pytest-timeout/kazoo is a failure, not a skip (helpers/kazooCheck.ts).
import { test } from 'node:test';
import { checkKazooSuite } from './helpers/kazooCheck.js';

const OVERALL_TIMEOUT_S = 3600;

test(
  'kazoo 2.8.0 test suite: everything that passes against Apache ZooKeeper 3.8 passes',
  { timeout: (OVERALL_TIMEOUT_S + 300) * 1000 },
  (t) =>
    checkKazooSuite(t, {
      size: 1,
      baselineFile: 'baseline-apache-3.8.txt',
      exceptionsFile: 'exceptions.txt',
      tmpPrefix: 'kazoo-interop-',
      preflight: 'server (start, ruok, SIGTERM)',
      runTimeoutS: OVERALL_TIMEOUT_S,
      rerunTimeoutS: OVERALL_TIMEOUT_S,
    }),
);
