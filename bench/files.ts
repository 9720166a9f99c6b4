// The app benchmarks' input files, written to a temporary folder as a user's
// files would sit on disk. (Building 1 GiB Files in the page was tried first:
// in Playwright's off-the-record contexts such in-memory Blobs became
// unreadable, NotReadableError, once the app copied the share into IndexedDB;
// a file on disk is also what a user actually drops.) Playwright hands a local
// browser the path itself, so nothing is copied through the protocol.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fillPattern } from "./pages/pattern.ts";

export interface PatternFiles {
  /** Path of a file named `name` holding `sizeBytes` of the pattern from `seed` (written once, then reused). */
  path(name: string, sizeBytes: number, seed: number): string;
  /** Deletes every file written. */
  remove(): void;
}

const chunkBytes = 16 * 1024 * 1024;

export function patternFiles(): PatternFiles {
  let dir: string | null = null;
  return {
    path(name, sizeBytes, seed) {
      dir ??= mkdtempSync(join(tmpdir(), "swarmdrop-bench-files-"));
      // One sub-folder per (size, seed): the file keeps the name the torrent shows.
      const sub = join(dir, `${sizeBytes}-${seed}`);
      const file = join(sub, name);
      if (existsSync(file) && statSync(file).size === sizeBytes) return file;
      mkdirSync(sub, { recursive: true });
      const chunk = new Uint8Array(chunkBytes);
      const fd = openSync(file, "w");
      try {
        for (let offset = 0; offset < sizeBytes; offset += chunkBytes) {
          const length = Math.min(chunkBytes, sizeBytes - offset);
          const padded = Math.ceil(length / 4) * 4;
          fillPattern(chunk.subarray(0, padded), seed, offset);
          writeSync(fd, chunk, 0, length);
        }
      } finally {
        closeSync(fd);
      }
      return file;
    },
    remove() {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = null;
    },
  };
}
