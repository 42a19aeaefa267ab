// Byte-level reader and writer for the Kafka wire format (big-endian integers, int16/varint
// length-prefixed strings and bytes, UUIDs). The writer collects chunks so that record sets
// read from a segment are passed through to the socket without being copied into the frame.

/** Malformed input: the connection answers INVALID_REQUEST / CORRUPT_MESSAGE or closes. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const TWO_32 = 4294967296;

export class KafkaReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    readonly end = buf.length,
  ) {}

  remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.end) throw new ProtocolError(`truncated: need ${n} bytes at ${p}, have ${this.end - p}`);
    this.pos = p + n;
    return p;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  uint16(): number {
    return this.buf.readUInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  /** An int64 as a number (exact to 2^53, which offsets, times and producer ids stay within). */
  int64(): number {
    const p = this.need(8);
    return this.buf.readInt32BE(p) * TWO_32 + this.buf.readUInt32BE(p + 4);
  }
  float64(): number {
    return this.buf.readDoubleBE(this.need(8));
  }
  uuid(): string {
    const p = this.need(16);
    return this.buf.toString('base64url', p, p + 16);
  }

  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new ProtocolError('truncated varint');
      const b = this.buf[this.pos++] as number;
      if (shift === 28) {
        if (b > 0x0f) throw new ProtocolError('varint longer than 32 bits');
        return result + b * 2 ** 28;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  /** A zig-zag signed varint (records). */
  varint(): number {
    const u = this.uvarint();
    return u & 1 ? -((u + 1) / 2) : u / 2;
  }

  string(nullable: boolean): string | null {
    const n = this.int16();
    if (n < 0) {
      if (!nullable) throw new ProtocolError('null string in a non-nullable field');
      return null;
    }
    const p = this.need(n);
    return this.buf.toString('utf8', p, p + n);
  }

  compactString(nullable: boolean): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) {
      if (!nullable) throw new ProtocolError('null string in a non-nullable field');
      return null;
    }
    const p = this.need(n);
    return this.buf.toString('utf8', p, p + n);
  }

  /** Bytes as a view into the request buffer (no copy). */
  bytes(nullable: boolean): Buffer | null {
    const n = this.int32();
    if (n < 0) {
      if (!nullable) throw new ProtocolError('null bytes in a non-nullable field');
      return null;
    }
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }

  compactBytes(nullable: boolean): Buffer | null {
    const n = this.uvarint() - 1;
    if (n < 0) {
      if (!nullable) throw new ProtocolError('null bytes in a non-nullable field');
      return null;
    }
    const p = this.need(n);
    return this.buf.subarray(p, p + n);
  }

  skip(n: number): void {
    this.need(n);
  }

  /** A reader over the next n bytes; this reader moves past them. */
  sub(n: number): KafkaReader {
    const p = this.need(n);
    return new KafkaReader(this.buf, p, p + n);
  }
}

/**
 * Growable writer. Small fields go into a scratch buffer; `raw` with a large buffer closes the
 * scratch chunk and appends the buffer itself, so `chunks()` can be written with one writev.
 */
export class KafkaWriter {
  private buf: Buffer;
  private pos = 0;
  private start = 0;
  private readonly done: Buffer[] = [];
  private doneBytes = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.doneBytes + this.pos - this.start;
  }

  private room(n: number): number {
    if (this.pos + n > this.buf.length) {
      this.flushScratch();
      this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.pos = 0;
      this.start = 0;
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }

  private flushScratch(): void {
    if (this.pos > this.start) {
      const c = this.buf.subarray(this.start, this.pos);
      this.done.push(c);
      this.doneBytes += c.length;
      this.start = this.pos;
    }
  }

  int8(v: number): void {
    const p = this.room(1);
    this.buf.writeInt8(v, p);
  }
  int16(v: number): void {
    const p = this.room(2);
    this.buf.writeInt16BE(v, p);
  }
  uint16(v: number): void {
    const p = this.room(2);
    this.buf.writeUInt16BE(v, p);
  }
  int32(v: number): void {
    const p = this.room(4);
    this.buf.writeInt32BE(v | 0, p);
  }
  uint32(v: number): void {
    const p = this.room(4);
    this.buf.writeUInt32BE(v >>> 0, p);
  }
  int64(v: number): void {
    const p = this.room(8);
    const hi = Math.floor(v / TWO_32);
    this.buf.writeInt32BE(hi | 0, p);
    this.buf.writeUInt32BE((v - hi * TWO_32) >>> 0, p + 4);
  }
  float64(v: number): void {
    const p = this.room(8);
    this.buf.writeDoubleBE(v, p);
  }
  uuid(v: string): void {
    const b = Buffer.from(v, 'base64url');
    if (b.length !== 16) throw new ProtocolError(`bad uuid '${v}'`);
    const p = this.room(16);
    b.copy(this.buf, p);
  }

  uvarint(v: number): void {
    let x = v >>> 0;
    if (v > 0xffffffff) x = v; // lengths never exceed 32 bits; keep the value if asked
    while (x >= 0x80) {
      const p = this.room(1);
      this.buf[p] = (x & 0x7f) | 0x80;
      x = Math.floor(x / 128);
    }
    const p = this.room(1);
    this.buf[p] = x;
  }

  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  string(v: string | null): void {
    if (v === null) {
      this.int16(-1);
      return;
    }
    const n = Buffer.byteLength(v);
    if (n > 0x7fff) throw new ProtocolError('string longer than 32767 bytes');
    this.int16(n);
    const p = this.room(n);
    this.buf.write(v, p, n, 'utf8');
  }

  compactString(v: string | null): void {
    if (v === null) {
      this.uvarint(0);
      return;
    }
    const n = Buffer.byteLength(v);
    this.uvarint(n + 1);
    const p = this.room(n);
    this.buf.write(v, p, n, 'utf8');
  }

  bytes(v: Buffer | null): void {
    if (v === null) {
      this.int32(-1);
      return;
    }
    this.int32(v.length);
    this.raw(v);
  }

  compactBytes(v: Buffer | null): void {
    if (v === null) {
      this.uvarint(0);
      return;
    }
    this.uvarint(v.length + 1);
    this.raw(v);
  }

  records(v: Buffer | Buffer[] | null): void {
    if (v === null) {
      this.int32(-1);
      return;
    }
    if (Buffer.isBuffer(v)) {
      this.bytes(v);
      return;
    }
    let n = 0;
    for (const b of v) n += b.length;
    this.int32(n);
    for (const b of v) this.raw(b);
  }

  compactRecords(v: Buffer | Buffer[] | null): void {
    if (v === null) {
      this.uvarint(0);
      return;
    }
    if (Buffer.isBuffer(v)) {
      this.compactBytes(v);
      return;
    }
    let n = 0;
    for (const b of v) n += b.length;
    this.uvarint(n + 1);
    for (const b of v) this.raw(b);
  }

  /** Appends bytes; a large buffer is referenced, not copied. */
  raw(b: Buffer): void {
    if (b.length >= 1024) {
      this.flushScratch();
      this.done.push(b);
      this.doneBytes += b.length;
      return;
    }
    const p = this.room(b.length);
    b.copy(this.buf, p);
  }

  /** Reserves an int32 to be filled later (frame sizes); returns a setter. */
  reserveInt32(): (v: number) => void {
    const p = this.room(4);
    const buf = this.buf;
    return (v) => buf.writeInt32BE(v | 0, p);
  }

  chunks(): Buffer[] {
    this.flushScratch();
    return this.done;
  }

  toBuffer(): Buffer {
    const c = this.chunks();
    return c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c, this.doneBytes);
  }
}
