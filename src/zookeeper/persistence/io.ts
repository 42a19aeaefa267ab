// The few file operations the transaction log writer needs, behind an interface so that tests
// can inject disk faults (a failing write or fsync) without a real broken disk.

import { writeSync } from 'node:fs';
import { open } from 'node:fs/promises';

export interface LogFile {
  /** Writes all of `buf` at `position`. */
  write(buf: Buffer, position: number): Promise<void>;
  /** fdatasync: the data (and the size) is on disk when this resolves. */
  datasync(): Promise<void>;
  /** Sets the file length (growing it with zeros: preallocation). */
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StorageIo {
  /** Creates (or empties) a file for writing. */
  create(path: string): Promise<LogFile>;
}

export const nodeStorageIo: StorageIo = {
  async create(path: string): Promise<LogFile> {
    const h = await open(path, 'w');
    return {
      // Synchronous: a group commit's few KB go to the page cache in microseconds, while a
      // threadpool write costs two thread handoffs (wakeups) per batch on every member. The
      // fdatasync that follows, which waits for the disk, stays off the event loop.
      async write(buf: Buffer, position: number): Promise<void> {
        let off = 0;
        while (off < buf.length) {
          const bytesWritten = writeSync(h.fd, buf, off, buf.length - off, position + off);
          if (bytesWritten <= 0) throw new Error(`short write to ${path}`);
          off += bytesWritten;
        }
      },
      datasync: () => h.datasync(),
      truncate: (length: number) => h.truncate(length),
      close: () => h.close(),
    };
  },
};
