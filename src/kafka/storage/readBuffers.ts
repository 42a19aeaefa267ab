// Buffers for segment reads that go out in Fetch responses. A consumer reading at full speed asks
// for ~1 MB per partition per fetch; a fresh allocation each time is external memory the GC must
// notice and free (it was a fifth of the broker's busy time while consuming). Instead the read
// takes a buffer from here and the connection gives it back once the socket has written it
// (connection.ts send), so the same few buffers circulate. A buffer that is never given back
// (a read whose result is dropped, the cleaner, producer-state replay) is simply collected.
//
// Safety rests on one rule: release only what was handed to the socket and written, or what was
// never handed to anyone. Buffers are recognised by their ArrayBuffer, so views release too.

/** Reads smaller than this are plain allocations (cheap, and most are Node's pooled slabs). */
const minPooledBytes = 64 * 1024;
/** At most this many idle bytes are kept; past it a released buffer is left to the GC. */
export const readBufferPoolBytesMax = 32 * 1024 * 1024;

const owned = new WeakMap<ArrayBuffer, number>(); // our ArrayBuffers -> size class (capacity)
const idle = new Map<number, ArrayBuffer[]>();
const idleSet = new Set<ArrayBuffer>();
let idleBytes = 0;

function sizeClass(n: number): number {
  let c = minPooledBytes;
  while (c < n) c *= 2;
  return c;
}

/** A buffer of exactly n bytes (uninitialised), from the pool when n is large enough. */
export function acquireReadBuffer(n: number): Buffer {
  if (n < minPooledBytes) return Buffer.allocUnsafe(n);
  const c = sizeClass(n);
  const ab = idle.get(c)?.pop();
  if (ab !== undefined) {
    idleSet.delete(ab);
    idleBytes -= c;
    return Buffer.from(ab, 0, n);
  }
  const fresh = new ArrayBuffer(c);
  owned.set(fresh, c);
  return Buffer.from(fresh, 0, n);
}

/** Gives a buffer (or a view of one) back; a no-op for buffers this pool did not make. */
export function releaseReadBuffer(b: Buffer): void {
  const ab = b.buffer as ArrayBuffer;
  const c = owned.get(ab);
  if (c === undefined || idleSet.has(ab) || idleBytes + c > readBufferPoolBytesMax) return;
  let list = idle.get(c);
  if (list === undefined) {
    list = [];
    idle.set(c, list);
  }
  list.push(ab);
  idleSet.add(ab);
  idleBytes += c;
}

/** Idle bytes held (tests). */
export function readBufferPoolIdleBytes(): number {
  return idleBytes;
}
