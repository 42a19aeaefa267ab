// Four-letter word commands (text, on the client port). Formats follow ZooKeeper 3.8.

import type { ServerConnection } from './connection.js';
import type { ZooKeeperServerShell } from './server.js';
import { ZK_FULL_VERSION } from './server.js';

export function runFourLetterWord(shell: ZooKeeperServerShell, cmd: string, _conn: ServerConnection, _extra: Buffer | undefined): string {
  const allowed = shell.opts.fourLetterWords;
  if (!allowed.has('*') && !allowed.has(cmd)) return `${cmd} is not executed because it is not in the whitelist.\n`;
  const core = shell.core;
  switch (cmd) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'srvr':
    case 'stat': {
      const lat = core.stats.latency;
      let s = `Zookeeper version: ${ZK_FULL_VERSION}\n`;
      if (cmd === 'stat') {
        s += 'Clients:\n';
        for (const c of shell.connections) {
          s += ` /${c.remoteAddress}:${c.remotePort}[${c.established ? 1 : 0}](queued=${c.queue.length},recved=${c.stats.packetsReceived},sent=${c.stats.packetsSent})\n`;
        }
        s += '\n';
      }
      s += `Latency min/avg/max: ${lat.minOrZero}/${lat.avg.toFixed(4)}/${lat.max}\n`;
      s += `Received: ${core.stats.packetsReceived}\n`;
      s += `Sent: ${core.stats.packetsSent}\n`;
      s += `Connections: ${shell.connections.size}\n`;
      s += `Outstanding: ${core.outstandingRequests}\n`;
      s += `Zxid: 0x${core.lastZxid.toString(16)}\n`;
      s += `Mode: ${shell.mode}\n`;
      s += `Node count: ${core.tree.nodeCount}\n`;
      return s;
    }
    case 'envi':
      return `Environment:\nzookeeper.version=${ZK_FULL_VERSION}\nhost.name=localhost\njava.version=n/a (clustergenie on node ${process.version})\nos.name=${process.platform}\n`;
  }
  return `${cmd} is not supported yet\n`;
}
