// java.util.Random's 48-bit LCG. ZooKeeper derives a session's password from
// Random(sessionId ^ 0xB3415C00).nextBytes(16); matching it lets a session created by Apache
// ZooKeeper be re-attached here (and vice versa) once storage is shared.

const MULT = 0x5deece66dn;
const MASK = (1n << 48n) - 1n;

export class JavaRandom {
  private seed: bigint;

  constructor(seed: bigint) {
    this.seed = (BigInt.asIntN(64, seed) ^ MULT) & MASK;
  }

  next(bits: number): number {
    this.seed = (this.seed * MULT + 0xbn) & MASK;
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(): number {
    return this.next(32);
  }

  nextBytes(out: Uint8Array): void {
    let i = 0;
    while (i < out.length) {
      let rnd = this.nextInt();
      for (let n = Math.min(out.length - i, 4); n-- > 0; rnd >>= 8) out[i++] = rnd & 0xff;
    }
  }
}
