// A PieceStore backed by real files: pieces are read and written across file
// boundaries with core/layout.ts (BEP 3: pieces cover the files concatenated in
// torrent order). Seeding reads the user's files where they are; downloading
// writes below the output folder, `<out>/<name>/<path...>` for a multi-file
// torrent and `<out>/<name>` for a single file.
import { mkdir, open, type FileHandle } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { bytesEqual, sha1 } from "../core/bytes.ts";
import { StorageFullError, type PieceStore } from "../core/engine/session-types.ts";
import type { PieceIndex } from "../core/ids.ts";
import { byteRangeSegments, pieceSegments } from "../core/layout.ts";
import { pieceHashAt, pieceSize, type TorrentInfo } from "../core/metainfo.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import { InterruptedError, StorageError, errnoCode, fsReason } from "./errors.ts";

/** Where each file of `info` goes below `outDir`; every path is checked to stay inside it. */
export function downloadPaths(info: Pick<TorrentInfo, "name" | "files" | "isMultiFile">, outDir: string): string[] {
  const root = resolve(outDir);
  return info.files.map((f) => {
    const path = info.isMultiFile ? join(root, info.name, ...f.path) : join(root, info.name);
    // core/metainfo.ts already refuses "..", "/" and "\\" in names; this is the belt to those braces.
    if (!path.startsWith(root + sep)) throw new StorageError(`refusing to write ${path}: it is outside ${root}`);
    return path;
  });
}

export interface FileStoreOptions {
  /** false: seeding the user's own files; writes are refused. */
  readonly writable: boolean;
  /** Most files kept open between reads/writes (least recently used ones are closed); default 64. */
  readonly maxOpenFiles?: number;
}

interface OpenFile {
  readonly handle: Promise<FileHandle>;
  /** Reads/writes using the handle now: it is not closed while above 0. */
  users: number;
}

export class FileStore implements PieceStore {
  readonly info: TorrentInfo;
  /** Absolute path of each file of info.files. */
  readonly paths: readonly string[];
  readonly #writable: boolean;
  /** Open files in least-recently-used order (Map insertion order). */
  readonly #handles = new Map<number, OpenFile>();
  readonly #maxOpenFiles: number;
  #closed = false;

  constructor(info: TorrentInfo, paths: readonly string[], options: FileStoreOptions) {
    if (paths.length !== info.files.length) throw new StorageError(`${paths.length} paths for ${info.files.length} files`);
    this.info = info;
    this.paths = [...paths];
    this.#writable = options.writable;
    this.#maxOpenFiles = Math.max(1, options.maxOpenFiles ?? 64);
  }

  static forDownload(info: TorrentInfo, outDir: string): FileStore {
    return new FileStore(info, downloadPaths(info, outDir), { writable: true });
  }

  static forSeed(info: TorrentInfo, paths: readonly string[]): FileStore {
    return new FileStore(info, paths, { writable: false });
  }

  /** Creates the folders and every (possibly empty) file, so a finished download has them all. */
  async prepare(): Promise<void> {
    if (!this.#writable) return;
    for (let i = 0; i < this.paths.length; i++) await this.#use(i, async () => undefined);
  }

  /** Files open right now. */
  get openFileCount(): number {
    return this.#handles.size;
  }

  /** Runs `work` with file `fileIndex` open, keeping at most maxOpenFiles open. */
  async #use<T>(fileIndex: number, work: (handle: FileHandle) => Promise<T>): Promise<T> {
    if (this.#closed) throw new StorageError("the file store is closed");
    let entry = this.#handles.get(fileIndex);
    if (entry === undefined) {
      const handle = this.#open(fileIndex);
      entry = { handle, users: 0 };
      // A failed open is not cached: the next call tries again.
      handle.catch(() => {
        if (this.#handles.get(fileIndex)?.handle === handle) this.#handles.delete(fileIndex);
      });
    } else {
      this.#handles.delete(fileIndex); // re-inserted below as most recently used
    }
    this.#handles.set(fileIndex, entry);
    entry.users++;
    try {
      return await work(await entry.handle);
    } finally {
      entry.users--;
      this.#evict();
    }
  }

  #evict(): void {
    if (this.#handles.size <= this.#maxOpenFiles) return;
    for (const [index, entry] of this.#handles) {
      if (this.#handles.size <= this.#maxOpenFiles) break;
      if (entry.users > 0) continue;
      this.#handles.delete(index);
      void entry.handle.then((h) => h.close()).catch(() => undefined);
    }
  }

  async #open(fileIndex: number): Promise<FileHandle> {
    const path = this.paths[fileIndex]!;
    try {
      if (!this.#writable) return await open(path, "r");
      try {
        return await open(path, "r+");
      } catch (err) {
        if (errnoCode(err) !== "ENOENT") throw err;
        await mkdir(dirname(path), { recursive: true });
        return await open(path, "w+");
      }
    } catch (err) {
      const code = errnoCode(err);
      if (code === "ENOSPC" || code === "EDQUOT") throw new StorageFullError(`cannot create ${path}: the disk is full`);
      throw new StorageError(`cannot open ${path}: ${fsReason(err)}`);
    }
  }

  /** Reads `length` bytes at `offset` inside piece `index`, across file boundaries. */
  async read(index: PieceIndex | number, offset: number, length: number): Promise<Uint8Array> {
    const size = pieceSize(this.info, index);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new StorageError(`read of ${length} bytes at ${offset} is outside piece ${index} (${size} bytes)`);
    }
    return this.readRange(index * this.info.pieceLength + offset, length);
  }

  /** Reads any byte range of the torrent's stream (streaming reads). */
  async readRange(streamOffset: number, length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    for (const seg of byteRangeSegments(this.info, streamOffset, length)) {
      await this.#use(seg.fileIndex, async (handle) => {
        let done = 0;
        while (done < seg.length) {
          let bytesRead: number;
          try {
            ({ bytesRead } = await handle.read(out, seg.pieceOffset + done, seg.length - done, seg.fileOffset + done));
          } catch (err) {
            throw new StorageError(`cannot read ${this.paths[seg.fileIndex]}: ${fsReason(err)}`);
          }
          if (bytesRead === 0) {
            throw new StorageError(`${this.paths[seg.fileIndex]} is shorter than expected (${this.info.files[seg.fileIndex]!.length} bytes)`);
          }
          done += bytesRead;
        }
      });
    }
    return out;
  }

  async readPiece(index: PieceIndex | number): Promise<Uint8Array> {
    return this.read(index, 0, pieceSize(this.info, index));
  }

  /** Writes one whole piece across its files. Rejects with StorageFullError when the disk is full. */
  async write(index: PieceIndex | number, data: Uint8Array): Promise<void> {
    if (!this.#writable) throw new StorageError("this store seeds your files and never writes to them");
    const size = pieceSize(this.info, index);
    if (data.length !== size) throw new StorageError(`piece ${index} is ${size} bytes, got ${data.length}`);
    for (const seg of pieceSegments(this.info, index)) {
      await this.#use(seg.fileIndex, async (handle) => {
        try {
          let done = 0;
          while (done < seg.length) {
            const { bytesWritten } = await handle.write(data, seg.pieceOffset + done, seg.length - done, seg.fileOffset + done);
            done += bytesWritten;
          }
        } catch (err) {
          const code = errnoCode(err);
          if (code === "ENOSPC" || code === "EDQUOT") throw new StorageFullError(`cannot write ${this.paths[seg.fileIndex]}: the disk is full`);
          throw new StorageError(`cannot write ${this.paths[seg.fileIndex]}: ${fsReason(err)}`);
        }
      });
    }
  }

  /** Whether piece `index` is on disk and hashes to its expected SHA-1 (missing or short files: false). */
  async verifyPiece(index: number): Promise<boolean> {
    let data: Uint8Array;
    try {
      data = await this.readPiece(index);
    } catch (err) {
      if (err instanceof StorageError) return false;
      throw err;
    }
    return bytesEqual(await sha1(data), pieceHashAt(this.info, index));
  }

  /** Hashes every piece on disk: the verified ones (resume without a matching state). */
  async scan(options: { onProgress?: (donePieces: number, pieceCount: number) => void; signal?: AbortSignal } = {}): Promise<Bitfield> {
    const verified = new Bitfield(this.info.pieceCount);
    for (let i = 0; i < this.info.pieceCount; i++) {
      if (options.signal?.aborted === true) throw new InterruptedError();
      if (await this.verifyPiece(i)) verified.set(i);
      options.onProgress?.(i + 1, this.info.pieceCount);
    }
    return verified;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(entries.map(async (e) => (await e.handle.catch(() => null))?.close()));
  }
}
