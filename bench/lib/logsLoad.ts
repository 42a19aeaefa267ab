// The load of the logs benchmark: pino-shaped JSON log lines (the kind the shipper parses into
// fields) that carry the time they were written, appended to a file in large writes, and the
// receiving end of the delay measurement: a Loki tail (WebSocket) on the log store that takes each
// line's write time out of the line and notes how long ago it was.

import { appendFileSync } from 'node:fs';
import WebSocket from 'ws';

/** Lines joined into one write when appending a burst (bounds the string built at once). */
export const appendChunkLinesMax = 10_000;

const padding = 'x'.repeat(40);

/**
 * One log line, about 200 bytes: pino's fields plus a request, `time` = the write time (ms since
 * the epoch). `"time":<ms>` stays the second field so the receiver can find it without parsing.
 */
export function logLine(seq: number, timeMs: number): string {
  return (
    `{"level":30,"time":${timeMs},"pid":4242,"hostname":"bench-host","service":"logs-bench","seq":${seq},` +
    `"req":{"method":"GET","url":"/api/jobs/${seq}"},"responseTime":${seq % 97},"msg":"request completed ${padding}"}\n`
  );
}

/** The write time a line carries (NaN if it is not one of ours). */
export function writeTimeOf(line: string): number {
  const at = line.indexOf('"time":');
  if (at < 0) return Number.NaN;
  const end = line.indexOf(',', at);
  return Number(line.slice(at + 7, end));
}

/** Appends lines seq .. seq+count-1 to `file`, stamped `timeMs`, in writes of at most appendChunkLinesMax lines. */
export function appendLines(file: string, seq: number, count: number, timeMs: number): void {
  for (let done = 0; done < count; ) {
    const n = Math.min(appendChunkLinesMax, count - done);
    let chunk = '';
    for (let i = 0; i < n; i++) chunk += logLine(seq + done + i, timeMs);
    appendFileSync(file, chunk);
    done += n;
  }
}

/** Builds a burst of lines before it is timed, as chunks for appendChunks. */
export function buildChunks(seq: number, count: number, timeMs: number): string[] {
  const out: string[] = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(appendChunkLinesMax, count - done);
    let chunk = '';
    for (let i = 0; i < n; i++) chunk += logLine(seq + done + i, timeMs);
    out.push(chunk);
    done += n;
  }
  return out;
}

export function appendChunks(file: string, chunks: readonly string[]): void {
  for (const c of chunks) appendFileSync(file, c);
}

interface TailFrame {
  streams?: { values?: [string, string][] }[];
  dropped_entries?: unknown[] | null;
}

/** Delays (receive time − the line's write time, ms) of every line a Loki tail delivers. */
export class TailDelays {
  readonly delaysMs: number[] = [];
  /** Entries the store listed as dropped for this slow reader (the store lists at most 100 per frame). */
  dropped = 0;
  private error: Error | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const now = Date.now();
      let frame: TailFrame;
      try {
        frame = JSON.parse(String(data)) as TailFrame;
      } catch (e) {
        this.error ??= e as Error;
        return;
      }
      for (const s of frame.streams ?? []) {
        for (const [, line] of s.values ?? []) {
          const t = writeTimeOf(line);
          if (Number.isFinite(t)) this.delaysMs.push(now - t);
        }
      }
      this.dropped += frame.dropped_entries?.length ?? 0;
    });
    ws.on('error', (e) => {
      this.error ??= e;
    });
  }

  /** Opens a tail of `{env="dev"}` from now on (no backlog). */
  static async open(storeUrl: string): Promise<TailDelays> {
    const q = new URLSearchParams({ query: '{env="dev"}', start: String(BigInt(Date.now()) * 1_000_000n), limit: '1' });
    const ws = new WebSocket(`${storeUrl.replace('http', 'ws')}/loki/api/v1/tail?${q}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TailDelays(ws);
  }

  get failure(): Error | undefined {
    return this.error;
  }

  close(): void {
    this.ws.close();
  }
}
