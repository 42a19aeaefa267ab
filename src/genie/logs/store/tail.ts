// Live tail over WebSocket (/loki/api/v1/tail): each client has a parsed log query; every stored
// push is run through it and sent as one frame in Loki's tail shape
// `{"streams":[{"stream":{..},"values":[["ns","line"]]}],"dropped_entries":null}`. A client that
// reads too slowly is not buffered without bound: past tailBufferBytesMax its entries are dropped
// and listed (up to droppedListedMax) in the next frame's dropped_entries, as Loki's tailer does.

import type { WebSocket } from 'ws';
import type { Logger } from '../../../util/log.js';
import { formatLabels } from '../lokiPush.js';
import { type Labels, matchesLabels, runPipeline, type StreamResult } from './evaluate.js';
import type { LogQuery } from './logql.js';

/** Bytes queued on one socket beyond which new entries are dropped for it. */
export const tailBufferBytesMax = 1024 * 1024;
/** Dropped entries listed in a frame (more are counted, not listed). */
const droppedListedMax = 100;

interface Client {
  socket: WebSocket;
  query: LogQuery;
  dropped: { labels: string; timestamp: string }[];
}

export class TailHub {
  private readonly clients = new Set<Client>();

  constructor(
    private readonly log: Logger,
    private readonly clientsMax: number,
  ) {}

  get size(): number {
    return this.clients.size;
  }

  add(socket: WebSocket, query: LogQuery, backlog: StreamResult[]): void {
    if (this.clients.size >= this.clientsMax) {
      socket.close(1013, `too many tail clients (limit ${this.clientsMax})`);
      return;
    }
    const client: Client = { socket, query, dropped: [] };
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', (e) => {
      this.log.debug({ err: e }, 'tail socket error');
      this.clients.delete(client);
    });
    // The backlog was read newest-first; a tail shows it oldest-first.
    const streams = backlog.filter((s) => s.values.length > 0).map((s) => ({ stream: s.labels, values: [...s.values].reverse() }));
    if (streams.length > 0) this.send(client, streams);
  }

  /** Sends newly stored entries to every client whose query keeps them. */
  publish(entries: readonly { labels: Labels; tsNs: bigint; line: string }[]): void {
    if (entries.length === 0) return;
    for (const client of this.clients) {
      const groups = new Map<string, { stream: Labels; values: [string, string][] }>();
      for (const e of entries) {
        if (!matchesLabels(client.query.matchers, e.labels)) continue;
        const out = runPipeline(client.query.stages, e.line, e.labels);
        if (!out) continue;
        const labels = out.labels;
        const key = formatLabels(labels);
        if (client.socket.bufferedAmount > tailBufferBytesMax) {
          if (client.dropped.length < droppedListedMax) client.dropped.push({ labels: key, timestamp: e.tsNs.toString() });
          continue;
        }
        let g = groups.get(key);
        if (!g) {
          g = { stream: labels, values: [] };
          groups.set(key, g);
        }
        g.values.push([e.tsNs.toString(), out.line]);
      }
      if (groups.size > 0) this.send(client, [...groups.values()]);
    }
  }

  private send(client: Client, streams: { stream: Labels; values: [string, string][] }[]): void {
    if (client.socket.readyState !== 1) return; // OPEN
    const dropped = client.dropped.length > 0 ? client.dropped.splice(0) : null;
    client.socket.send(JSON.stringify({ streams, dropped_entries: dropped }));
  }

  closeAll(): void {
    for (const c of this.clients) c.socket.close(1001, 'log store closing');
    this.clients.clear();
  }
}
