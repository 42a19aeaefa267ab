// The command line is a contract: `clustergenie zookeeper --config <zoo.cfg>` runs one server in
// the foreground, stops cleanly on SIGTERM, and refuses a bad config naming key and line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOurZooKeeperProcess } from '../helpers/ourZk.js';
import { fourLetter } from '../helpers/net.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'clustergenie.js');

test('zookeeper --config serves and stops on SIGTERM with exit code 0', async () => {
  const zk = await startOurZooKeeperProcess();
  try {
    assert.equal(await fourLetter(zk.host, zk.port, 'ruok'), 'imok');
    assert.match(await fourLetter(zk.host, zk.port, 'srvr'), /^Zookeeper version: .*\nMode: standalone\n/s);
    process.kill(zk.pid, 'SIGTERM');
    assert.equal(await zk.exited, 0);
  } finally {
    await zk.stop();
  }
});

test('a bad config fails fast with the key and line, exit code 2', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cg-cli-'));
  try {
    const cfg = join(dir, 'zoo.cfg');
    await writeFile(cfg, `dataDir=${dir}\ntickTime=soon\nclientPort=0\n`);
    const r = spawnSync(process.execPath, [bin, 'zookeeper', '--config', cfg], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /tickTime must be an integer, got "soon" \(line 2\)/);
    const missing = spawnSync(process.execPath, [bin, 'zookeeper', '--config', join(dir, 'nope.cfg')], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read config file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('unknown keys warn once each and do not stop the server', async () => {
  const zk = await startOurZooKeeperProcess({
    extraConfig: { 'some.unknown.key': 'x', syncEnabled: 'true', 'metricsProvider.className': 'x' },
  });
  try {
    assert.equal(await fourLetter(zk.host, zk.port, 'ruok'), 'imok');
    const warnings = zk
      .stderrText()
      .split('\n')
      .filter((l) => l.includes('"level":40'));
    assert.equal(warnings.filter((l) => l.includes('unknown key some.unknown.key')).length, 1);
    assert.equal(warnings.filter((l) => l.includes('syncEnabled is not supported yet')).length, 1);
    assert.equal(warnings.filter((l) => l.includes('metricsProvider.className names an unknown metrics provider')).length, 1);
  } finally {
    await zk.stop();
  }
});

test('unknown subcommand exits 2 with usage', () => {
  const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage:/);
});
