// Hostile inputs for the protocol fuzzers, built from valid messages so that the damage lands
// deep inside a request rather than in its first bytes. Two kinds:
//
// - structure-aware: the message is encoded through a writer that replaces one primitive write
//   (a length, a count, a varint, a nullable-struct marker) with a hostile value: null where the
//   field is not nullable, a count of 2^31-1, a varint longer than 32 bits, a string length past
//   the end, an off-by-one length;
// - byte-level: truncate, extend, flip, overwrite with 0x00/0x7f/0x80/0xff, insert or delete a
//   byte, splice a huge int32.
//
// Everything is driven by one seeded Random so that a failing seed replays exactly.

import { KafkaWriter } from '../../src/kafka/protocol/buffers.js';
import type { Message, Msg } from '../../src/kafka/protocol/schema.js';
import { Random } from '../../src/sim/random.js';

export { Random };

/** The seed of a run: SEED from the environment replays one, otherwise a fresh one. */
export function runSeed(): number {
  const env = process.env['SEED'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n)) throw new Error(`SEED must be an integer, got '${env}'`);
    return n >>> 0;
  }
  return (Date.now() ^ (process.pid << 8)) >>> 0;
}

/**
 * A writer that counts primitive writes and, at call number `target`, writes a hostile value in
 * place of the real one. With target -1 it only counts (to learn how many writes a message has).
 */
class HostileWriter extends KafkaWriter {
  calls = 0;
  what = '';

  constructor(
    private readonly target: number,
    private readonly rnd: Random,
  ) {
    super(64);
  }

  private hit(): boolean {
    return this.calls++ === this.target;
  }

  override int8(v: number): void {
    if (this.hit()) super.int8(this.note('int8', v, this.rnd.pick([-1, 0, 2, 127, -128])));
    else super.int8(v);
  }

  override int16(v: number): void {
    if (this.hit()) super.int16(this.note('int16', v, this.rnd.pick([-1, -2, -32768, 0x7fff, v + 1, v - 1])));
    else super.int16(v);
  }

  override int32(v: number): void {
    if (this.hit()) super.int32(this.note('int32', v, this.rnd.pick([-1, -2, -0x80000000, 0x7fffffff, 0x10000000, v + 1, v - 1])));
    else super.int32(v);
  }

  override int64(v: number): void {
    if (this.hit()) super.int64(this.note('int64', v, this.rnd.pick([-1, -2, 2 ** 53, -(2 ** 53), 2 ** 62])));
    else super.int64(v);
  }

  override uvarint(v: number): void {
    if (!this.hit()) {
      super.uvarint(v);
      return;
    }
    switch (this.rnd.int(0, 5)) {
      case 0:
        super.uvarint(this.note('uvarint', v, 0)); // null
        break;
      case 1:
        super.uvarint(this.note('uvarint', v, 0xffffffff));
        break;
      case 2:
        this.what = `uvarint ${v}->over 32 bits`;
        this.raw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
        break;
      case 3:
        this.what = `uvarint ${v}->unterminated`;
        this.raw(Buffer.from([0x80, 0x80, 0x80]));
        break;
      case 4:
        super.uvarint(this.note('uvarint', v, v + 1));
        break;
      default:
        super.uvarint(this.note('uvarint', v, Math.max(0, v - 1)));
    }
  }

  private note(kind: string, from: number, to: number): number {
    this.what = `${kind} ${from}->${to}`;
    return to;
  }
}

export interface HostileEncoding {
  bytes: Buffer;
  what: string;
}

/** Encodes `v` with one primitive write replaced by a hostile value (chosen by `rnd`). */
export function encodeHostile(m: Message, version: number, v: Msg, rnd: Random): HostileEncoding {
  const counter = new HostileWriter(-1, rnd);
  m.encode(counter, version, v);
  if (counter.calls === 0) return { bytes: Buffer.from(counter.toBuffer()), what: 'no primitive writes' };
  const target = rnd.int(0, counter.calls - 1);
  const w = new HostileWriter(target, rnd);
  m.encode(w, version, v);
  return { bytes: Buffer.from(w.toBuffer()), what: `write #${target}: ${w.what}` };
}

/** Encodes `v` as it is (a valid message). */
export function encodeValid(m: Message, version: number, v: Msg): Buffer {
  const w = new KafkaWriter(64);
  m.encode(w, version, v);
  return Buffer.from(w.toBuffer());
}

/** One byte-level mutation of `b` from offset `from` on (bytes before it are kept). */
export function mutateBytes(b: Buffer, rnd: Random, from = 0): HostileEncoding {
  const span = b.length - from;
  const at = (): number => from + (span > 0 ? rnd.int(0, span - 1) : 0);
  switch (rnd.int(0, 7)) {
    case 0: {
      const n = span > 0 ? rnd.int(from, b.length - 1) : from;
      return { bytes: b.subarray(0, n), what: `truncated to ${n} of ${b.length}` };
    }
    case 1: {
      const extra = Buffer.alloc(rnd.int(1, 64));
      for (let i = 0; i < extra.length; i++) extra[i] = rnd.int(0, 255);
      return { bytes: Buffer.concat([b, extra]), what: `extended by ${extra.length}` };
    }
    case 2: {
      const out = Buffer.from(b);
      const flips = rnd.int(1, 4);
      for (let i = 0; i < flips && span > 0; i++) out[at()] ^= 1 << rnd.int(0, 7);
      return { bytes: out, what: `${flips} bit flips` };
    }
    case 3: {
      const out = Buffer.from(b);
      const p = at();
      const x = rnd.pick([0x00, 0x7f, 0x80, 0xff]);
      if (span > 0) out[p] = x;
      return { bytes: out, what: `byte ${p} = 0x${x.toString(16)}` };
    }
    case 4: {
      const p = at();
      const x = rnd.int(0, 255);
      return { bytes: Buffer.concat([b.subarray(0, p), Buffer.from([x]), b.subarray(p)]), what: `inserted 0x${x.toString(16)} at ${p}` };
    }
    case 5: {
      if (span <= 0) return { bytes: b, what: 'unchanged' };
      const p = at();
      return { bytes: Buffer.concat([b.subarray(0, p), b.subarray(p + 1)]), what: `deleted byte ${p}` };
    }
    case 6: {
      const out = Buffer.from(b);
      const p = at();
      const x = rnd.pick([0x7fffffff, -1, 0x00ffffff]);
      if (p + 4 <= out.length) out.writeInt32BE(x, p);
      return { bytes: out, what: `int32 ${x} at ${p}` };
    }
    default: {
      const out = Buffer.from(b);
      const p = at();
      if (p + 2 <= out.length) out.writeInt16BE(-1, p);
      return { bytes: out, what: `int16 -1 at ${p}` };
    }
  }
}
