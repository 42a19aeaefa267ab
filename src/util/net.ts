// Free loopback ports for tests and test clusters.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

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
    if (await canListen(p)) return p;
  }
  return freePort();
}
