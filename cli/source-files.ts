// Finding the files to seed on disk and hashing them into a torrent, reading
// in slices so no file is ever held whole in memory.
import { open, readdir, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { MetainfoError, PieceHasher, buildInfo, choosePieceLength, type TorrentInfo } from "../core/metainfo.ts";
import { InterruptedError, UnreadablePathError, fsReason } from "./errors.ts";

export interface SourceFile {
  /** Path inside the torrent (for a multi-file torrent: below its folder). */
  readonly path: readonly string[];
  /** Absolute path on disk. */
  readonly absPath: string;
  readonly length: number;
  /** Last modification, for resume matching. */
  readonly mtimeMs: number;
}

export interface SourceSet {
  readonly name: string;
  readonly files: readonly SourceFile[];
  /** A single regular file given on its own: a single-file torrent. */
  readonly singleFile: boolean;
  readonly totalLength: number;
}

/** Code-unit order, per path segment (create-torrent sorts folder entries too). */
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

async function statOrThrow(path: string): Promise<Awaited<ReturnType<typeof stat>>> {
  try {
    return await stat(path);
  } catch (err) {
    throw new UnreadablePathError(`cannot read ${path}: ${fsReason(err)}`);
  }
}

async function walk(dir: string, prefix: readonly string[], out: SourceFile[]): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    throw new UnreadablePathError(`cannot list folder ${dir}: ${fsReason(err)}`);
  }
  for (const entry of entries.sort(byName)) {
    const abs = join(dir, entry);
    const st = await statOrThrow(abs);
    if (st.isDirectory()) await walk(abs, [...prefix, entry], out);
    else if (st.isFile()) out.push({ path: [...prefix, entry], absPath: abs, length: Number(st.size), mtimeMs: Number(st.mtimeMs) });
    // Sockets, FIFOs and devices are skipped: they have no fixed content.
  }
}

/**
 * The files behind the paths given to `seed`. One file: a single-file
 * torrent named after it. One folder: a multi-file torrent named after the
 * folder. Several paths: a multi-file torrent named `name` (default: the first
 * path's name) holding each file, and each folder under its own name.
 */
export async function collectSources(paths: readonly string[], name: string | null = null): Promise<SourceSet> {
  if (paths.length === 0) throw new UnreadablePathError("no paths given");
  const files: SourceFile[] = [];
  let singleFile = false;
  const absPaths = paths.map((p) => resolve(p));
  const first = absPaths[0]!;
  const torrentName = name ?? basename(first);
  if (absPaths.length === 1) {
    const st = await statOrThrow(first);
    if (st.isFile()) {
      files.push({ path: [torrentName], absPath: first, length: Number(st.size), mtimeMs: Number(st.mtimeMs) });
      singleFile = true;
    } else if (st.isDirectory()) {
      await walk(first, [], files);
    } else {
      throw new UnreadablePathError(`${paths[0]} is neither a file nor a folder`);
    }
  } else {
    for (const [i, abs] of absPaths.entries()) {
      const st = await statOrThrow(abs);
      if (st.isFile()) files.push({ path: [basename(abs)], absPath: abs, length: Number(st.size), mtimeMs: Number(st.mtimeMs) });
      else if (st.isDirectory()) await walk(abs, [basename(abs)], files);
      else throw new UnreadablePathError(`${paths[i]} is neither a file nor a folder`);
    }
  }
  if (files.length === 0) throw new UnreadablePathError(`nothing to share: ${paths.join(", ")} holds no files`);
  const totalLength = files.reduce((sum, f) => sum + f.length, 0);
  if (totalLength === 0) throw new UnreadablePathError(`nothing to share: every file in ${paths.join(", ")} is empty`);
  return { name: torrentName, files, singleFile, totalLength };
}

export interface HashProgress {
  readonly doneBytes: number;
  readonly totalBytes: number;
}

export interface HashOptions {
  readonly pieceLength?: number | null;
  /** Bytes read per slice; a piece may span several slices. */
  readonly sliceBytes?: number;
  readonly onProgress?: (progress: HashProgress) => void;
  readonly signal?: AbortSignal;
}

export const defaultSliceBytes = 1024 * 1024;

/** Hashes the files in order into a TorrentInfo (BEP 3), reading `sliceBytes` at a time. */
export async function hashSources(sources: SourceSet, options: HashOptions = {}): Promise<TorrentInfo> {
  const pieceLength = options.pieceLength ?? choosePieceLength(sources.totalLength);
  const sliceBytes = options.sliceBytes ?? defaultSliceBytes;
  const describe = (pieceHashes: Uint8Array): Promise<TorrentInfo> =>
    buildInfo({
      name: sources.name,
      files: sources.files.map((f) => ({ path: f.path, length: f.length })),
      pieceLength,
      pieceHashes,
      singleFile: sources.singleFile,
    }).catch((err: unknown) => {
      if (err instanceof MetainfoError) throw new UnreadablePathError(`cannot make a torrent of these files: ${err.message}`);
      throw err;
    });
  // Check names and layout before reading gigabytes (with placeholder hashes).
  await describe(new Uint8Array(20 * Math.ceil(sources.totalLength / pieceLength)));
  const hasher = new PieceHasher(pieceLength);
  const buffer = new Uint8Array(sliceBytes);
  let done = 0;
  for (const file of sources.files) {
    if (file.length === 0) continue;
    let handle;
    try {
      handle = await open(file.absPath, "r");
    } catch (err) {
      throw new UnreadablePathError(`cannot read ${file.absPath}: ${fsReason(err)}`);
    }
    try {
      let position = 0;
      while (position < file.length) {
        if (options.signal?.aborted === true) throw new InterruptedError();
        const want = Math.min(sliceBytes, file.length - position);
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, want, position));
        } catch (err) {
          throw new UnreadablePathError(`cannot read ${file.absPath}: ${fsReason(err)}`);
        }
        if (bytesRead === 0) throw new UnreadablePathError(`${file.absPath} shrank while it was being hashed (expected ${file.length} bytes)`);
        await hasher.update(buffer.subarray(0, bytesRead));
        position += bytesRead;
        done += bytesRead;
        options.onProgress?.({ doneBytes: done, totalBytes: sources.totalLength });
      }
    } finally {
      await handle.close();
    }
  }
  return describe(await hasher.finish());
}
