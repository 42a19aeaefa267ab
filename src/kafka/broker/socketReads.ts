// Socket reads into one buffer shared by every client connection, instead of the fresh 64 KiB
// buffer Node allocates for each read.
//
// Why: at 1 KB records a producer sends ~1 MB Produce frames, so a broker reading 100 MB/s made
// ~1,600 buffer allocations a second outside the JS heap. V8 counts those bytes as external memory
// and answers their growth with full mark-compact collections ("external memory pressure" in
// --trace-gc): 17% of the broker's busy time under a 1 KB produce load. The frames are copied
// out anyway (a Produce frame into the connection's reused buffer), so reading into one reused
// buffer costs no extra copy for them and drops the allocations.
//
// Node offers this as `net.Socket`'s `onread` option, but not for sockets a server accepts; the
// same machinery (the handle's `useUserBuffer` and the socket's kBuffer/kBufferCb slots that
// `onread` fills) is set up here on a socket accepted with `pauseOnConnect`, before it reads.
// When any of those internals is missing (another Node version) this returns false and the
// caller reads through 'data' events as before.
//
// A caller gathering a large frame may also name where the next read should land (`target`, via
// the kBufferGen slot that onread's buffer-function form uses): the kernel then copies the bytes
// straight into the frame's buffer and no JS copy is left at all.

import type { Socket } from 'node:net';

/** Bytes one read syscall may take: a whole ~1 MB Produce frame arrives in a few reads. */
export const SOCKET_READ_BYTES = 256 * 1024;

/**
 * One buffer for all connections: libuv reads into it and calls back before reading any other
 * socket (one thread), so a chunk is only valid until its callback returns.
 */
let shared: Buffer | undefined;

interface StreamHandle {
  reading?: boolean;
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * Makes `socket` (accepted with pauseOnConnect and not yet resumed) deliver its reads to `onChunk`.
 * Each read lands where `target()` said just before it (asked after every read; null: the shared
 * buffer). `inPlace` tells which: false, a view of the shared buffer, valid only during the call
 * (the callee copies what it keeps); true, a view of the buffer `target` returned, whose bytes are
 * already where they belong. Returns false, changing nothing, when the socket is already reading
 * or Node lacks the hooks.
 */
export function readIntoSharedBuffer(
  socket: Socket,
  onChunk: (chunk: Buffer, inPlace: boolean) => void,
  target: () => Buffer | null = () => null,
): boolean {
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || handle.reading !== false) return false;
  if (socket.readableFlowing !== false) return false;
  const symbols = Object.getOwnPropertySymbols(socket);
  const kBuffer = symbols.find((s) => s.description === 'kBuffer');
  const kBufferCb = symbols.find((s) => s.description === 'kBufferCb');
  const kBufferGen = symbols.find((s) => s.description === 'kBufferGen');
  if (kBuffer === undefined || kBufferCb === undefined || kBufferGen === undefined) return false;
  shared ??= Buffer.allocUnsafeSlow(SOCKET_READ_BYTES);
  const buf = shared;
  const slots = socket as unknown as Record<symbol, unknown>;
  slots[kBuffer] = buf;
  slots[kBufferCb] = (nread: number, into: Buffer): void => onChunk(into.subarray(0, nread), into !== buf);
  // Node calls this after each read and reads next into what it returns.
  slots[kBufferGen] = (): Buffer => {
    const t = target();
    return t !== null && t.length > 0 ? t : buf;
  };
  handle.useUserBuffer(buf);
  return true;
}
