// Free loopback ports for tests and test clusters.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The kernel's ephemeral port range (outgoing connections take their local ports from it). */
function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [32768, 60999];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A free loopback port below the ephemeral range. A member that is down leaves its ports
 * unbound; a port from the ephemeral range (what binding port 0 returns) may meanwhile become
 * the local port of some outgoing connection (a client reconnecting, a peer dialing), and the
 * member's restart would fail with EADDRINUSE. Ports outside the range are only taken by binds.
 */
export async function stablePort(): Promise<number> {
  const [lo] = ephemeralRange();
  const min = 10_000;
  const max = Math.max(min + 1000, lo - 1);
  for (let i = 0; i < 200; i++) {
    const p = min + Math.floor(Math.random() * (max - min));
    if (reservePort(p) && (await canListen(p))) return p;
  }
  return freePort();
}

/**
 * A base port whose next `count` ports are free and reserved for this process (see reservePort),
 * below the ephemeral range: `clustergenie up` takes consecutive ports from a base.
 */
export async function stablePortRange(count: number): Promise<number> {
  const [lo] = ephemeralRange();
  const min = 10_000;
  const max = Math.max(min + 1000, lo - count);
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = min + Math.floor(Math.random() * (max - min));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = reservePort(base + i) && (await canListen(base + i));
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports between ${min} and ${max}`);
}

/** Where stablePort notes which process each port went to (one file per port, the owner's PID). */
export const reservationsDir = join(tmpdir(), 'clustergenie-ports');

/**
 * Whether `port` may be handed out by this process: not already handed out by it, nor by another
 * process still alive. A port is free to bind between the check and the child's bind (about a
 * second), and a stopped member's port stays free until its restart, so without this two test
 * processes running side by side could pick the same one. Anything unexpected (no temp dir)
 * answers yes, as before reservations existed.
 */
export function reservePort(port: number): boolean {
  const file = join(reservationsDir, String(port));
  try {
    mkdirSync(reservationsDir, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return true;
  }
  let owner: number;
  try {
    owner = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (owner === process.pid || isAlive(owner)) return false;
  try {
    writeFileSync(file, String(process.pid)); // its owner is gone: ours now
  } catch {
    // as before reservations existed
  }
  return true;
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
