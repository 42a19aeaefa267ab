// Size-prefixed frames from a socket read through `net.connect`'s `onread` option, for the
// inter-broker client: reads land in one scratch buffer shared by every client, and the rest of a
// large frame is read by the kernel straight into that frame's own buffer.
//
// Why: through 'data' events Node gives every read a fresh 64 KiB buffer outside the JS heap and a
// ~1 MB replica fetch response arrived in ~16 of them, then was joined into a new buffer: twice
// the response's bytes of external memory per fetch, which V8 answers with full collections (the
// broker's side of this cost, and its cure, are in broker/socketReads.ts). Here a large response
// is one allocation and no JS copy. Each frame still gets a buffer of its own, because the decoded
// response keeps views of it (record sets) until the follower has appended them.
//
// The reader is a plain state machine (`target` says where the next read should land, `onRead`
// takes what arrived), so it is tested without sockets.

import type { OnReadOpts } from 'node:net';

/** The scratch buffer: small frames and frame heads arrive here and are copied out. */
export const FRAME_READ_SCRATCH_BYTES = 64 * 1024;
/** A frame with at least this much still to come is read straight into its own buffer. */
const DIRECT_READ_BYTES_MIN = 16 * 1024;

/**
 * One scratch buffer for all readers: libuv reads into it and calls back before reading any other
 * socket (one thread), and `onRead` copies out what it keeps before it returns.
 */
let sharedScratch: Buffer | undefined;

export interface FrameReaderOptions {
  /** A frame announcing more than this many bytes (or fewer than 4) stops the reader. */
  frameBytesMax: number;
  /** Called with each whole frame (without its size prefix); the buffer is the callee's to keep. */
  onFrame: (frame: Buffer) => void;
  /** Called once when the stream cannot be framed (a bad size); nothing is delivered after it. */
  onInvalid: (reason: string) => void;
}

export class FrameReader {
  private readonly scratch: Buffer;
  /** A frame's size prefix split between reads. */
  private readonly sizeBuf = Buffer.alloc(4);
  private sizeBytes = 0;
  /** The frame being filled, and how much of it has arrived. */
  private frame: Buffer | null = null;
  private filled = 0;
  private stopped = false;

  /** `scratch` is for tests; clients share one. */
  constructor(
    private readonly opts: FrameReaderOptions,
    scratch?: Buffer,
  ) {
    sharedScratch ??= Buffer.allocUnsafeSlow(FRAME_READ_SCRATCH_BYTES);
    this.scratch = scratch ?? sharedScratch;
  }

  /** The `onread` option for `net.connect` that feeds this reader. */
  onreadOption(): OnReadOpts {
    return {
      buffer: () => this.target(),
      callback: (nread, into) => {
        this.onRead(into as Buffer, nread);
        return true; // false would pause the socket
      },
    };
  }

  /** Where the next read should land: the missing part of a large frame, else the scratch. */
  target(): Buffer {
    const f = this.frame;
    if (f !== null && !this.stopped && f.length - this.filled >= DIRECT_READ_BYTES_MIN) return f.subarray(this.filled);
    return this.scratch;
  }

  /** Bytes [0, n) of `into` (a buffer `target` returned) have arrived. */
  onRead(into: Buffer, n: number): void {
    if (this.stopped) return;
    const f = this.frame;
    if (into !== this.scratch) {
      // A direct read: `target` offered exactly the frame's missing bytes, so they are in place.
      if (f === null || into.buffer !== f.buffer || into.byteOffset !== f.byteOffset + this.filled || n > f.length - this.filled) {
        // `target` offered exactly the frame's missing bytes; anything else is a bug, not input.
        this.stop('socket read landed outside the frame being filled');
        return;
      }
      this.filled += n;
      if (this.filled === f.length) this.deliver();
      return;
    }
    let off = 0;
    while (off < n && !this.stopped) {
      const cur = this.frame;
      if (cur !== null) {
        const take = Math.min(cur.length - this.filled, n - off);
        into.copy(cur, this.filled, off, off + take);
        this.filled += take;
        off += take;
        if (this.filled === cur.length) this.deliver();
        continue;
      }
      let size: number;
      if (this.sizeBytes === 0 && n - off >= 4) {
        size = into.readInt32BE(off);
        off += 4;
      } else {
        while (this.sizeBytes < 4 && off < n) this.sizeBuf[this.sizeBytes++] = into[off++] as number;
        if (this.sizeBytes < 4) return;
        size = this.sizeBuf.readInt32BE(0);
        this.sizeBytes = 0;
      }
      if (size < 4 || size > this.opts.frameBytesMax) {
        this.stop(`response frame of ${size} bytes (at most ${this.opts.frameBytesMax})`);
        return;
      }
      // Small frames come from Node's pooled slab; a large one is its own allocation, filled by
      // direct reads from here on (allocated whole up front: the peer is a broker we called and
      // the size is bounded by frameBytesMax).
      this.frame = Buffer.allocUnsafe(size);
      this.filled = 0;
    }
  }

  private stop(reason: string): void {
    this.stopped = true;
    this.frame = null;
    this.opts.onInvalid(reason);
  }

  private deliver(): void {
    const f = this.frame as Buffer;
    this.frame = null;
    this.filled = 0;
    this.opts.onFrame(f);
  }
}
