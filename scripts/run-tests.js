#!/usr/bin/env node
// Runs the compiled test files with node:test. `unit` limits the run to test/zookeeper and
// friends (no interop with external programs). Test files are dist/test/**/*.test.js.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...selected], { stdio: 'inherit' });
process.exit(r.status ?? 1);
