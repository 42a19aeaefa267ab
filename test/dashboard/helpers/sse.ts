// A small Server-Sent Events reader for tests: collects `event:`/`data:` frames from a streaming
// fetch and waits (with a deadline) for one that satisfies a predicate.

export interface SseEvent {
  event: string;
  data: unknown;
}

export class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  private readonly ac = new AbortController();
  private waiters: (() => void)[] = [];
  status = 0;
  contentType = '';
  ended = false;

  private constructor(readonly url: string) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient(url);
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: c.ac.signal });
    c.status = res.status;
    c.contentType = res.headers.get('content-type') ?? '';
    if (!res.body) throw new Error(`${url}: no body (HTTP ${res.status})`);
    void c.read(res.body);
    return c;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of frame.split('\n')) {
            if (line.startsWith(':')) this.comments++;
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) this.events.push({ event, data: JSON.parse(data.join('\n')) });
          this.wake();
        }
      }
    } catch {
      // aborted by close()
    }
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first event (from index `from`) named `event` whose data satisfies `pred`. */
  async next<T>(event: string, pred: (d: T) => boolean, opts: { timeoutMs?: number; from?: number; what?: string } = {}): Promise<T> {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    let i = opts.from ?? 0;
    for (;;) {
      for (; i < this.events.length; i++) {
        const e = this.events[i]!;
        if (e.event === event && pred(e.data as T)) return e.data as T;
      }
      if (this.ended) throw new Error(`${this.url}: stream ended before ${opts.what ?? event}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.url}: timed out waiting for ${opts.what ?? event}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ac.abort();
  }
}
