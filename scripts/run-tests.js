#!/usr/bin/env node
// Runs `biome check .`, then the compiled test files with node:test. `unit` limits the run to test/zookeeper and
// friends (no interop with external programs). Test files are dist/test/**/*.test.js.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

// Lint and formatting come first: a check failure fails the run, with Biome's report as the reason.
const biome = spawnSync(join('node_modules', '.bin', 'biome'), ['check', '.'], { stdio: 'inherit' });
if (biome.status !== 0) {
  console.error(
    biome.error ? `biome could not run: ${biome.error.message}` : 'biome check failed (see above; `npm run format` fixes formatting)',
  );
  process.exit(biome.status ?? 1);
}

const root = 'dist/test';
const only = process.argv[2];
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
walk(root);
const selected = only === 'unit' ? files.filter((f) => !f.includes('/interop/')) : files;
if (selected.length === 0) {
  console.error(`no test files under ${root}; did the build run?`);
  process.exit(1);
}
// A file that hangs (a lost wake-up waits forever, with sockets open) fails after 15 minutes instead
// of stalling the run: node 20 applies --test-timeout to each file as well as to each test. The
// longest files take ~5 minutes on a loaded 2-core machine.
const fileTimeoutMs = 15 * 60 * 1000;
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', `--test-timeout=${fileTimeoutMs}`, ...selected], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
