// Splitting a byte stream into lines (pure): chunks arrive at any boundary, a line may span many
// of them, and a line longer than lineBytesMax keeps only its first lineBytesMax bytes (marked
// truncated) while the rest is skipped up to its newline, so one endless line never grows memory.
// Invalid UTF-8 becomes U+FFFD (Buffer's decoder); binary garbage is just more lines.

export interface Line {
  /** The line's text without its newline (and without a trailing CR). */
  text: string;
  /** Byte position just after the line's newline: where reading resumes once the line is shipped. */
  endPosition: number;
  /** The line was longer than lineBytesMax and was cut to it. */
  truncated: boolean;
  /** Bytes the line had in the input (its newline excluded), including what was cut away. */
  bytes: number;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

export class LineSplitter {
  /** The unterminated line so far: its first bytes only (at most lineBytesMax). */
  private carry: Buffer;
  private carryLength = 0;
  /** Bytes of the current line seen so far, including those beyond lineBytesMax that were dropped. */
  private lineBytes = 0;
  /** Byte position of the next byte push() will see. */
  private position: number;

  constructor(
    private readonly lineBytesMax: number,
    startPosition = 0,
  ) {
    if (!Number.isInteger(lineBytesMax) || lineBytesMax < 1)
      throw new Error(`lineBytesMax must be a positive integer, not ${lineBytesMax}`);
    this.position = startPosition;
    this.carry = Buffer.alloc(0);
  }

  /** Position after the last byte pushed. */
  get readPosition(): number {
    return this.position;
  }

  /** Bytes of an unterminated line held or skipped (the line is not complete yet). */
  get pendingBytes(): number {
    return this.lineBytes;
  }

  /**
   * The complete lines in `chunk[0, length)`, appended to `out`. The chunk may be reused after the
   * call. With `linesMax`, stops after that many lines: readPosition is then just after the last
   * one, and the caller reads the rest of the chunk again later (a file can be re-read; this is
   * how the shipper stops exactly at its buffer bound).
   */
  push(chunk: Buffer, length: number = chunk.length, out: Line[] = [], linesMax = Number.POSITIVE_INFINITY): Line[] {
    let start = 0;
    let produced = 0;
    while (start < length && produced < linesMax) {
      const nl = chunk.indexOf(NEWLINE, start);
      const end = nl < 0 || nl >= length ? length : nl;
      if (end === length) {
        this.keep(chunk, start, end);
        this.position += end - start;
        break;
      }
      this.position += end - start + 1;
      if (this.lineBytes === 0 && end - start <= this.lineBytesMax) {
        // The common case: the whole line is in this chunk; decode it in place.
        out.push(this.makeLine(chunk, start, end, end - start, false));
      } else {
        this.keep(chunk, start, end);
        out.push(this.takeCarry());
      }
      produced++;
      start = end + 1;
    }
    return out;
  }

  /**
   * The unterminated rest as a line (end of input, or a rotated file that will not grow), or
   * undefined when there is none.
   */
  finish(): Line | undefined {
    if (this.lineBytes === 0) return undefined;
    return this.takeCarry();
  }

  /** Forgets the unterminated rest and continues at `position` (a truncated file starts again). */
  reset(position: number): void {
    this.carryLength = 0;
    this.lineBytes = 0;
    this.position = position;
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    this.lineBytes += n;
    const room = this.lineBytesMax - this.carryLength;
    const take = Math.min(room, n);
    if (take <= 0) return;
    if (this.carry.length < this.carryLength + take) {
      // Grow geometrically but never past lineBytesMax.
      const size = Math.min(this.lineBytesMax, Math.max(this.carryLength + take, this.carry.length * 2, 256));
      const bigger = Buffer.allocUnsafe(size);
      this.carry.copy(bigger, 0, 0, this.carryLength);
      this.carry = bigger;
    }
    chunk.copy(this.carry, this.carryLength, from, from + take);
    this.carryLength += take;
  }

  private takeCarry(): Line {
    const line = this.makeLine(this.carry, 0, this.carryLength, this.lineBytes, this.lineBytes > this.lineBytesMax);
    this.carryLength = 0;
    this.lineBytes = 0;
    // A huge line leaves a huge buffer behind; give it back rather than keep it for small lines.
    if (this.carry.length > 64 * 1024) this.carry = Buffer.alloc(0);
    return line;
  }

  private makeLine(buf: Buffer, from: number, to: number, bytes: number, truncated: boolean): Line {
    const textEnd = !truncated && to > from && buf[to - 1] === CR ? to - 1 : to;
    return { text: buf.toString('utf8', from, textEnd), endPosition: this.position, truncated, bytes };
  }
}
