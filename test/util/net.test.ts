import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { reservationsDir, reservePort, stablePort } from '../../src/util/net.js';

test('stablePort never hands the same port out twice in one process, and notes each as ours', async () => {
  const ports = [];
  for (let i = 0; i < 40; i++) ports.push(await stablePort());
  assert.equal(new Set(ports).size, ports.length);
  for (const p of ports) assert.equal(readFileSync(join(reservationsDir, String(p)), 'utf8'), String(process.pid));
  assert.equal(reservePort(ports[0]!), false, 'a port this process handed out');
});

test("a port another live process holds is refused; a dead process's port is taken over", async () => {
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    const port = await stablePort();
    writeFileSync(join(reservationsDir, String(port)), String(other.pid));
    assert.equal(reservePort(port), false, 'held by a live process');
    const exited = new Promise((resolve) => other.once('exit', resolve));
    other.kill('SIGKILL');
    await exited;
    assert.equal(reservePort(port), true, 'its owner is gone');
    assert.equal(readFileSync(join(reservationsDir, String(port)), 'utf8'), String(process.pid));
  } finally {
    if (other.exitCode === null && other.signalCode === null) other.kill('SIGKILL');
  }
});
