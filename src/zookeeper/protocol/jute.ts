// Jute binary encoding (ZooKeeper's serialization): big-endian ints/longs, length-prefixed
// buffers and strings where -1 means null, count-prefixed vectors. Readers parse frames in
// place; writers grow one buffer and are reused across messages.

const TWO_32 = 4294967296;

// Big-endian stores into a buffer at a given offset, shared by JuteWriter and the node hash
// (server/digest.ts). Byte stores only: a number above 2^31 passed to a call that is not inlined
// (writeInt32BE & co.) is boxed, garbage per field on the write path; and a zero long, the usual
// ephemeralOwner, needs no BigInt arithmetic (which allocates).

export function putInt32(buf: Buffer, at: number, v: number): void {
  buf[at] = v >>> 24;
  buf[at + 1] = (v >>> 16) & 0xff;
  buf[at + 2] = (v >>> 8) & 0xff;
  buf[at + 3] = v & 0xff;
}

const longScratch = new Float64Array(1);

/** A long held as a JS number (zxids, times). */
export function putLongN(buf: Buffer, at: number, v: number): void {
  longScratch[0] = v;
  putLongNFrom(buf, at, longScratch, 0);
}

/**
 * putLongN of `src[i]`: the caller hands over the array, not the number, because a number above
 * the small-integer range passed to a call V8 does not inline becomes a heap object. Byte stores
 * right here for the same reason (the low word can be up to 2^32 - 1).
 */
export function putLongNFrom(buf: Buffer, at: number, src: Float64Array, i: number): void {
  const v = src[i]!;
  const hi = Math.floor(v / TWO_32);
  const lo = v - hi * TWO_32;
  buf[at] = hi >>> 24;
  buf[at + 1] = (hi >>> 16) & 0xff;
  buf[at + 2] = (hi >>> 8) & 0xff;
  buf[at + 3] = hi & 0xff;
  buf[at + 4] = lo >>> 24;
  buf[at + 5] = (lo >>> 16) & 0xff;
  buf[at + 6] = (lo >>> 8) & 0xff;
  buf[at + 7] = lo & 0xff;
}

/**
 * Recent non-zero longs split into two int32 words: the few session ids of a busy server recur
 * in every txn header, and splitting a bigint takes BigInt arithmetic, garbage each time.
 */
const LONG_WORDS_CACHED_MAX = 1024;
const longWordsAt = new Map<bigint, number>();
const longWords = new Int32Array(LONG_WORDS_CACHED_MAX * 2);

/** A long held as a bigint (session ids, ephemeral owners). */
export function putLong(buf: Buffer, at: number, v: bigint): void {
  if (v === 0n) {
    for (let i = at; i < at + 8; i++) buf[i] = 0;
    return;
  }
  let k = longWordsAt.get(v);
  if (k === undefined) {
    if (longWordsAt.size >= LONG_WORDS_CACHED_MAX) longWordsAt.clear();
    k = longWordsAt.size;
    const u = BigInt.asUintN(64, v);
    longWords[2 * k] = Number(u >> 32n);
    longWords[2 * k + 1] = Number(u & 0xffffffffn);
    longWordsAt.set(v, k);
  }
  putInt32(buf, at, longWords[2 * k]!);
  putInt32(buf, at + 4, longWords[2 * k + 1]!);
}

export class JuteError extends Error {
  override name = 'JuteError';
}

export class JuteReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  reset(buf: Buffer, pos = 0, end = buf.length): void {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) {
      throw new JuteError(`truncated record: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  int(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A jute long held as a JS number: zxids, times, TTLs. Exact below 2^53. */
  longN(): number {
    this.need(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** A jute long held as a bigint: session ids and ephemeral owners use all 64 bits. */
  long(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  bool(): boolean {
    this.need(1);
    return this.buf[this.pos++] !== 0;
  }

  /** Zero-copy view into the frame; copy it before keeping it past the frame's lifetime. */
  buffer(): Buffer | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < -1) throw new JuteError(`negative buffer length ${len}`);
    this.need(len);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  ustring(): string | null {
    const len = this.int();
    if (len === -1) return null;
    if (len < -1) throw new JuteError(`negative string length ${len}`);
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** Vector count; -1 (null) is returned as -1 so callers can keep null distinct. */
  vectorCount(): number {
    const n = this.int();
    // Apache ZooKeeper 3.8 (BinaryInputArchive) reads any count below -1 as an empty vector: its
    // index is done at once. A client that sends one gets what Apache would answer (often
    // BADARGUMENTS from the fields after it), not a marshalling error.
    if (n < -1) return 0;
    // Every element takes at least one byte, so a count beyond the remaining bytes is a lie:
    // refuse it before allocating.
    if (n > this.remaining) throw new JuteError(`vector length ${n} exceeds ${this.remaining} remaining bytes`);
    return n;
  }
}

export class JuteWriter {
  buf: Buffer;
  pos = 0;
  /** `view` and the buffer it was made for. */
  private dataView: DataView | undefined;
  private dataViewOf: Buffer | undefined;

  constructor(initialBytes = 4096) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  reset(): void {
    this.pos = 0;
  }

  /** A DataView of `buf`, made on first use after `buf` changes: for encoders that store words. */
  get view(): DataView {
    if (this.dataViewOf !== this.buf) {
      this.dataViewOf = this.buf;
      this.dataView = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    return this.dataView!;
  }

  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
  }

  longN(v: number): void {
    this.ensure(8);
    putLongN(this.buf, this.pos, v);
    this.pos += 8;
  }

  long(v: bigint): void {
    this.ensure(8);
    putLong(this.buf, this.pos, v);
    this.pos += 8;
  }

  bool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  buffer(v: Buffer | Uint8Array | null | undefined): void {
    if (v == null) {
      this.int(-1);
      return;
    }
    this.ensure(4 + v.length);
    this.buf.writeInt32BE(v.length, this.pos);
    this.pos += 4;
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  ustring(v: string | null | undefined): void {
    if (v == null) {
      this.int(-1);
      return;
    }
    const max = v.length * 3;
    this.ensure(4 + max);
    const n = this.buf.write(v, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
  }

  raw(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Reserve 4 bytes for a length prefix; returns its offset for patchLength. */
  beginFrame(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  endFrame(at: number): void {
    this.buf.writeInt32BE(this.pos - at - 4, at);
  }

  /** Copy of the bytes written so far. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}
