import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatBytes } from "../core/bytes.ts";
import { StorageFullError } from "../core/engine/session-types.ts";
import { createTorrentFromBytes, pieceSize, type TorrentInfo } from "../core/metainfo.ts";
import { seededRandom } from "../core/random.ts";
import { StorageError } from "./errors.ts";
import { FileStore, downloadPaths } from "./file-store.ts";

const KiB = 1024;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "swarmdrop-store-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A multi-file torrent whose files straddle piece boundaries, with empty and tiny files. */
async function sample(seed: number): Promise<{ info: TorrentInfo; files: { path: string[]; data: Uint8Array }[] }> {
  const rng = seededRandom(seed);
  const files = [
    { path: ["a.bin"], data: rng.bytes(20_000) },
    { path: ["empty.txt"], data: new Uint8Array(0) },
    { path: ["sub", "b.bin"], data: rng.bytes(3) },
    { path: ["sub", "deeper", "c.bin"], data: rng.bytes(50_000) },
    { path: ["z.bin"], data: rng.bytes(16 * KiB) },
  ];
  return { info: await createTorrentFromBytes("sample", files, 16 * KiB), files };
}

describe("FileStore (download)", () => {
  it("writes pieces in any order across file boundaries and the files come out byte-identical", async () => {
    const { info, files } = await sample(1);
    const stream = concatBytes(files.map((f) => f.data));
    const store = FileStore.forDownload(info, dir);
    await store.prepare();
    const order = [...Array(info.pieceCount).keys()].reverse();
    for (const i of order) await store.write(i, stream.subarray(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    await store.close();
    for (const f of files) {
      const onDisk = new Uint8Array(await readFile(join(dir, "sample", ...f.path)));
      expect(onDisk).toEqual(f.data);
    }
    // The empty file exists too.
    expect((await stat(join(dir, "sample", "empty.txt"))).size).toBe(0);
  });

  it("keeps at most maxOpenFiles open, even with concurrent reads and writes across files", async () => {
    const { info, files } = await sample(8);
    const stream = concatBytes(files.map((f) => f.data));
    const store = new FileStore(info, downloadPaths(info, dir), { writable: true, maxOpenFiles: 2 });
    await store.prepare();
    expect(store.openFileCount).toBeLessThanOrEqual(2);
    await Promise.all([...Array(info.pieceCount).keys()].map((i) => store.write(i, stream.subarray(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)))));
    expect(store.openFileCount).toBeLessThanOrEqual(2);
    const pieces = await Promise.all([...Array(info.pieceCount).keys()].map((i) => store.readPiece(i)));
    expect(concatBytes(pieces)).toEqual(stream);
    expect(store.openFileCount).toBeLessThanOrEqual(2);
    expect((await store.scan()).complete).toBe(true);
    await store.close();
    expect(store.openFileCount).toBe(0);
  });

  it("reads back any range of any piece, and verifies every piece", async () => {
    const { info, files } = await sample(2);
    const stream = concatBytes(files.map((f) => f.data));
    const store = FileStore.forDownload(info, dir);
    for (let i = 0; i < info.pieceCount; i++) await store.write(i, stream.subarray(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: info.pieceCount - 1 }).chain((i) =>
          fc.tuple(fc.constant(i), fc.integer({ min: 0, max: pieceSize(info, i) })).chain(([p, off]) => fc.tuple(fc.constant(p), fc.constant(off), fc.integer({ min: 0, max: pieceSize(info, p) - off }))),
        ),
        async ([index, offset, length]) => {
          const got = await store.read(index, offset, length);
          const start = index * info.pieceLength + offset;
          expect(got).toEqual(stream.subarray(start, start + length));
        },
      ),
      { numRuns: 100 },
    );
    expect((await store.scan()).complete).toBe(true);
    await store.close();
  });

  it("finds exactly the pieces that are present and intact when scanning", async () => {
    const { info, files } = await sample(3);
    const stream = concatBytes(files.map((f) => f.data));
    const store = FileStore.forDownload(info, dir);
    await store.prepare();
    for (const i of [0, 2, 3]) await store.write(i, stream.subarray(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    await store.close();
    // Flip one byte of piece 3 on disk (c.bin), behind the store's back.
    const cPath = join(dir, "sample", "sub", "deeper", "c.bin");
    const c = new Uint8Array(await readFile(cPath));
    const pieceThreeInC = 3 * info.pieceLength - (20_000 + 3) + 10;
    c[pieceThreeInC] = c[pieceThreeInC]! ^ 0xff;
    await writeFile(cPath, c);
    const again = FileStore.forDownload(info, dir);
    const verified = await again.scan();
    expect([...verified.indices()]).toEqual([0, 2]);
    await again.close();
  });

  it("rejects a piece of the wrong size and out-of-range reads with StorageError", async () => {
    const { info } = await sample(4);
    const store = FileStore.forDownload(info, dir);
    await expect(store.write(0, new Uint8Array(5))).rejects.toThrow(StorageError);
    await expect(store.read(0, 16 * KiB - 1, 2)).rejects.toThrow(StorageError);
    // Reading a piece that was never written (file missing or short) is a StorageError, not a crash.
    await expect(store.read(info.pieceCount - 1, 0, 1)).rejects.toThrow(StorageError);
    await store.close();
    await expect(store.read(0, 0, 1)).rejects.toThrow(/closed/);
  });

  it("reports a folder standing where a file must go as a StorageError", async () => {
    const { info, files } = await sample(5);
    await mkdir(join(dir, "sample", "a.bin"), { recursive: true });
    const store = FileStore.forDownload(info, dir);
    await expect(store.write(0, concatBytes(files.map((f) => f.data)).subarray(0, 16 * KiB))).rejects.toThrow(StorageError);
    await store.close();
  });

  it("turns a full disk into StorageFullError", async () => {
    // /dev/full answers every write with ENOSPC (Linux).
    const ok = await stat("/dev/full").then(() => true, () => false);
    if (!ok) return;
    const info = await createTorrentFromBytes("f", [{ path: ["f"], data: new Uint8Array(100) }]);
    const store = new FileStore(info, ["/dev/full"], { writable: true });
    await expect(store.write(0, new Uint8Array(100))).rejects.toThrow(StorageFullError);
    await store.close();
  });
});

describe("FileStore (seed)", () => {
  it("serves pieces from the user's files in place and refuses to write", async () => {
    const { info, files } = await sample(6);
    const paths: string[] = [];
    for (const [i, f] of files.entries()) {
      const p = join(dir, `file-${i}`);
      await writeFile(p, f.data);
      paths.push(p);
    }
    const store = FileStore.forSeed(info, paths);
    const stream = concatBytes(files.map((f) => f.data));
    for (let i = 0; i < info.pieceCount; i++) {
      expect(await store.readPiece(i)).toEqual(stream.subarray(i * info.pieceLength, i * info.pieceLength + pieceSize(info, i)));
    }
    expect(await store.readRange(19_990, 20)).toEqual(stream.subarray(19_990, 20_010));
    await expect(store.write(0, stream.subarray(0, 16 * KiB))).rejects.toThrow(/never writes/);
    await store.close();
  });
});

describe("downloadPaths", () => {
  it("puts a multi-file torrent in a folder named after it, a single file directly in the output folder", async () => {
    const { info } = await sample(7);
    expect(downloadPaths(info, "/out")).toEqual(["/out/sample/a.bin", "/out/sample/empty.txt", "/out/sample/sub/b.bin", "/out/sample/sub/deeper/c.bin", "/out/sample/z.bin"]);
    const single = await createTorrentFromBytes("one.txt", [{ path: ["one.txt"], data: new Uint8Array(3) }]);
    expect(downloadPaths(single, "/out/")).toEqual(["/out/one.txt"]);
  });
});
