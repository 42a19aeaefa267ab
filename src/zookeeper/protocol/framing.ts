// Length-prefixed framing (int32 big-endian length + body). The decoder is fed socket chunks
// and yields complete frames; a frame that sits inside one chunk is returned as a view (no
// copy). A length outside [0, frameBytesMax] is refused before anything is allocated.

export class FrameTooLargeError extends Error {
  override name = 'FrameTooLargeError';
  constructor(
    readonly length: number,
    readonly frameBytesMax: number,
  ) {
    super(`frame length ${length} outside [0, ${frameBytesMax}] (jute.maxbuffer)`);
  }
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly frameBytesMax: number) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Peek at the first 4 bytes as a big-endian int without consuming; undefined if fewer. */
  peekInt(): number | undefined {
    if (this.buffered < 4) return undefined;
    const head = this.chunks[0]!.length >= 4 ? this.chunks[0]! : this.coalesce(4);
    return head.readInt32BE(0);
  }

  /** Consumes n raw bytes (four-letter words are not length-prefixed); undefined if fewer. */
  takeRaw(n: number): Buffer | undefined {
    if (this.buffered < n) return undefined;
    let head = this.chunks[0]!;
    if (head.length < n) head = this.coalesce(n);
    const out = head.subarray(0, n);
    if (head.length === n) this.chunks.shift();
    else this.chunks[0] = head.subarray(n);
    this.buffered -= n;
    return out;
  }

  /** Next complete frame body, or undefined if more bytes are needed. Throws FrameTooLargeError. */
  next(): Buffer | undefined {
    if (this.buffered < 4) return undefined;
    let head = this.chunks[0]!;
    if (head.length < 4) head = this.coalesce(4);
    const len = head.readInt32BE(0);
    if (len < 0 || len > this.frameBytesMax) throw new FrameTooLargeError(len, this.frameBytesMax);
    const total = 4 + len;
    if (this.buffered < total) return undefined;
    if (head.length < total) head = this.coalesce(total);
    const frame = head.subarray(4, total);
    if (head.length === total) this.chunks.shift();
    else this.chunks[0] = head.subarray(total);
    this.buffered -= total;
    return frame;
  }

  /** Merge leading chunks until the first holds at least n bytes (n <= buffered). */
  private coalesce(n: number): Buffer {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const c = this.chunks.shift()!;
      parts.push(c);
      got += c.length;
    }
    const merged = Buffer.concat(parts, got);
    this.chunks.unshift(merged);
    return merged;
  }
}
