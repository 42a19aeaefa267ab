// Values printed as Java prints them: ZooKeeper's four-letter words and AdminServer JSON come
// from Java's Double.toString, Long.toHexString and Date.toString, and clients parse those texts.

/** A value Java prints as a double (`0.0`, `6.5`, `1.0E-4`), in mntr text and in admin JSON. */
export class JDouble {
  constructor(readonly value: number) {}
  toString(): string {
    return javaDoubleString(this.value);
  }
}

/** What admin JSON is built from. Plain numbers are Java ints/longs; bigints are longs. */
export type JValue = null | boolean | number | bigint | string | JDouble | JValue[] | JMap;
export type JMap = Map<string, JValue>;

// ------------------------------------------------------------------ Java number formatting

/** Java's Double.toString for finite values: `0.0`, `6.5`, `3.1667`, `1.0E7`, `1.0E-4`. */
export function javaDoubleString(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const a = Math.abs(x);
  if (a >= 1e-3 && a < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant, exp] = x.toExponential().split('e') as [string, string];
  return `${mant.includes('.') ? mant : `${mant}.0`}E${exp.startsWith('+') ? exp.slice(1) : exp}`;
}

/** Long.toHexString: two's complement for negatives. */
export function javaHex(v: number | bigint): string {
  return BigInt.asUintN(64, BigInt(v)).toString(16);
}

/**
 * AvgMinMaxCounter.getAvg: total/count as a double, then BigDecimal.setScale(4, HALF_UP).
 * toFixed rounds the exact binary value half-up, as BigDecimal(double) does.
 */
export function latencyAvg(total: number, count: number): number {
  if (count <= 0) return 0;
  return Number((total / count).toFixed(4));
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** java.util.Date.toString: `Sat Nov 21 12:25:43 UTC 2026`, in the local time zone. */
export function javaDateString(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  let zone = 'UTC';
  try {
    zone =
      new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((x) => x.type === 'timeZoneName')?.value ?? 'UTC';
  } catch {
    // keep UTC
  }
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${zone} ${d.getFullYear()}`;
}
