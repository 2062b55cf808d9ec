/**
 * Synchronous whole-file reads into one reused buffer. Sync reads of /proc cost a few microseconds where
 * fs.promises costs several times more in promise overhead, and one buffer keeps a tick of 10,000 processes
 * from allocating 50,000 of them.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** Reads small files whole; each result is valid until the next call. */
export interface FileReader {
  /** The file decoded as UTF-8. */
  text(path: string): string;
  /** A view of the file's bytes in the shared buffer: copy it before the next read if it must live on. */
  bytes(path: string): Buffer;
}

/** @param initialSize the buffer starts here and doubles whenever a file fills it. @default 8192 */
export function createFileReader(initialSize = 8192): FileReader {
  let buffer = Buffer.allocUnsafe(initialSize);

  function readWhole(path: string): number {
    const fd = openSync(path, 'r');
    try {
      let length = 0;
      for (;;) {
        // A short read is the end: /proc's seq files and cmdline hand over all they have in one read when it
        // fits, so the usual cost is open + one read + close, without a last read that returns 0.
        const n = readSync(fd, buffer, length, buffer.length - length, null);
        length += n;
        if (length < buffer.length) return length;
        const bigger = Buffer.allocUnsafe(buffer.length * 2);
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
    } finally {
      closeSync(fd);
    }
  }

  // Read before touching `buffer`: the read may replace it with a bigger one.
  return {
    text(path) {
      const length = readWhole(path);
      return buffer.toString('utf8', 0, length);
    },
    bytes(path) {
      const length = readWhole(path);
      return buffer.subarray(0, length);
    },
  };
}
