// Making a torrent from dropped files: the files are one byte stream in torrent
// order (BEP 3), cut into pieces of choosePieceLength(total); each piece is
// read in ~8 MiB windows with Blob.slice(...).arrayBuffer() (never a whole file
// in memory) and hashed with SHA-1 (WebCrypto). The piece range is split among 4 Web Workers
// (web/workers/hash-worker.ts); where there is no Worker (Node) the same code
// runs in this thread.
import { sha1 } from "../../core/bytes.ts";
import { byteRangeSegments, type LayoutInfo } from "../../core/layout.ts";
import { buildInfo, choosePieceLength, MetainfoError, type TorrentFileEntry, type TorrentInfo } from "../../core/metainfo.ts";

/** A dropped file and its path ("/"-joined; folder drops include the folder name). */
export interface DroppedFile {
  readonly file: Blob;
  readonly path: string;
}

export class ShareInputError extends Error {
  override name = "ShareInputError";
}

export interface TorrentPlan {
  readonly name: string;
  /** Files in torrent order with their path below the torrent's folder. */
  readonly files: readonly { readonly blob: Blob; readonly path: readonly string[] }[];
  readonly singleFile: boolean;
  readonly totalLength: number;
}

function segmentsOf(path: string): string[] {
  return path.split(/[/\\]+/).filter((s) => s !== "" && s !== ".");
}

/**
 * Names the torrent and its files: one folder -> the folder's name and paths
 * below it; one file -> its name (single-file torrent); else "N files".
 * Files are sorted by path so the same drop always makes the same infohash.
 */
export function planTorrent(dropped: readonly DroppedFile[], nameOverride?: string): TorrentPlan {
  if (dropped.length === 0) throw new ShareInputError("nothing to share: no files were given");
  const entries = dropped.map((d) => {
    const segments = segmentsOf(d.path);
    if (segments.length === 0) throw new ShareInputError(`a dropped file has no usable name (${JSON.stringify(d.path)})`);
    return { blob: d.file, segments };
  });
  const first = entries[0]!.segments[0]!;
  const oneFolder = entries.every((e) => e.segments.length >= 2 && e.segments[0] === first);
  let name: string;
  let files: { blob: Blob; path: string[] }[];
  let singleFile = false;
  if (oneFolder) {
    name = first;
    files = entries.map((e) => ({ blob: e.blob, path: e.segments.slice(1) }));
  } else if (entries.length === 1) {
    const only = entries[0]!;
    name = only.segments[only.segments.length - 1]!;
    files = [{ blob: only.blob, path: [name] }];
    singleFile = true;
  } else {
    name = `${entries.length} files`;
    files = entries.map((e) => ({ blob: e.blob, path: e.segments }));
  }
  if (nameOverride !== undefined && nameOverride.trim() !== "") {
    name = nameOverride.trim();
    if (singleFile) files = [{ blob: files[0]!.blob, path: [name] }];
  }
  files.sort((a, b) => comparePaths(a.path, b.path));
  const totalLength = files.reduce((sum, f) => sum + f.blob.size, 0);
  if (totalLength === 0) throw new ShareInputError("nothing to share: the files are empty");
  return { name, files, singleFile, totalLength };
}

function comparePaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

/** The layout arithmetic core/layout.ts needs, for a plan at a piece length. */
export function planLayout(plan: TorrentPlan, pieceLength: number): LayoutInfo {
  let offset = 0;
  const files: TorrentFileEntry[] = plan.files.map((f) => {
    const entry = { path: f.path, length: f.blob.size, offset };
    offset += f.blob.size;
    return entry;
  });
  return { files, pieceLength, pieceCount: Math.ceil(offset / pieceLength), totalLength: offset };
}

/**
 * Reads bytes [offset, offset+length) of the concatenated blobs with Blob.slice.
 * (In Chromium each Blob.slice costs a round trip to the blob registry, so
 * callers read ~1 MiB windows rather than one 16 KiB piece at a time.)
 */
export async function readRange(blobs: readonly Blob[], layout: LayoutInfo, offset: number, length: number): Promise<Uint8Array> {
  const segments = byteRangeSegments(layout, offset, length);
  const only = segments.length === 1 ? segments[0]! : null;
  if (only !== null && only.pieceOffset === 0 && only.length === length) {
    // Inside one file: the slice's own buffer, not a copy of it.
    const buf = await blobs[only.fileIndex]!.slice(only.fileOffset, only.fileOffset + only.length).arrayBuffer();
    if (buf.byteLength !== length) throw new ShareInputError(`file ${only.fileIndex} changed size while it was read`);
    return new Uint8Array(buf);
  }
  const out = new Uint8Array(length);
  await Promise.all(
    segments.map(async (seg) => {
      const blob = blobs[seg.fileIndex]!;
      const buf = await blob.slice(seg.fileOffset, seg.fileOffset + seg.length).arrayBuffer();
      if (buf.byteLength !== seg.length) throw new ShareInputError(`file ${seg.fileIndex} changed size while it was read`);
      out.set(new Uint8Array(buf), seg.pieceOffset);
    }),
  );
  return out;
}

/** Byte range of pieces [first, end). */
export function pieceSpan(layout: LayoutInfo, first: number, end: number): { offset: number; length: number } {
  const offset = first * layout.pieceLength;
  return { offset, length: Math.min(end * layout.pieceLength, layout.totalLength) - offset };
}

/** Reads piece `index` of the concatenated blobs. */
export function readPiece(blobs: readonly Blob[], layout: LayoutInfo, index: number): Promise<Uint8Array> {
  if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) {
    return Promise.reject(new RangeError(`piece index ${index} is outside 0..${layout.pieceCount - 1}`));
  }
  const span = pieceSpan(layout, index, index + 1);
  return readRange(blobs, layout, span.offset, span.length);
}

/** Pieces per read window: about 1 MiB, at least one piece. */
export function windowPieces(pieceLength: number, windowBytes = 1024 * 1024): number {
  return Math.max(1, Math.floor(windowBytes / pieceLength));
}

/**
 * Bytes per hashing read window. Measured in Chromium on 2 cores, 256 MiB from
 * a disk-backed File, 4 workers, 3 runs each: 8 MiB slice().arrayBuffer()
 * windows with the next one in flight hashed at 634/587/425 MB/s where one
 * slice().stream() per range did 522/508/304 MB/s (4 MiB windows 460/458/403,
 * 2 MiB 330/306/231; 8 MiB without read-ahead 576/530/334).
 */
export const hashWindowBytes = 8 * 1024 * 1024;

/**
 * SHA-1 of pieces [first, end), 20 bytes each, in order. Reads the range in
 * windows of whole pieces (about hashWindowBytes, see readRange) and keeps the
 * next window's read in flight while this window's pieces are digested, each
 * piece in place (a view of the window, no copy). At most two windows are held
 * at a time. Calls onProgress with bytes hashed so far.
 */
export async function hashPieceRange(
  blobs: readonly Blob[],
  layout: LayoutInfo,
  first: number,
  end: number,
  onProgress: (doneBytes: number) => void,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const out = new Uint8Array(Math.max(0, end - first) * 20);
  if (first >= end) return out;
  const perWindow = windowPieces(layout.pieceLength, hashWindowBytes);
  const read = (from: number): Promise<Uint8Array> => {
    const span = pieceSpan(layout, from, Math.min(end, from + perWindow));
    return readRange(blobs, layout, span.offset, span.length);
  };
  let done = 0;
  let next: Promise<Uint8Array> | null = read(first);
  for (let from = first; next !== null; from += perWindow) {
    const windowBytes: Uint8Array = await next;
    signal?.throwIfAborted();
    const to = Math.min(end, from + perWindow);
    next = to < end ? read(to) : null;
    // A rejected read-ahead is reported when it is awaited, not as unhandled.
    next?.catch(() => undefined);
    const digests: Promise<void>[] = [];
    for (let index = from; index < to; index++) {
      const at = (index - from) * layout.pieceLength;
      const bytes = windowBytes.subarray(at, Math.min(at + layout.pieceLength, windowBytes.length));
      digests.push(sha1(bytes).then((h) => out.set(h, (index - first) * 20)));
    }
    await Promise.all(digests);
    done += windowBytes.length;
    onProgress(done);
  }
  signal?.throwIfAborted();
  return out;
}

/** Contiguous, nearly equal piece ranges for `parts` workers. */
export function splitPieces(pieceCount: number, parts: number): { first: number; end: number }[] {
  const n = Math.max(1, Math.min(parts, pieceCount));
  const out: { first: number; end: number }[] = [];
  for (let k = 0; k < n; k++) {
    out.push({ first: Math.floor((k * pieceCount) / n), end: Math.floor(((k + 1) * pieceCount) / n) });
  }
  return out;
}

// ---------------------------------------------------------------- workers

/** main -> worker */
export interface HashJob {
  readonly blobs: readonly Blob[];
  readonly layout: LayoutInfo;
  readonly first: number;
  readonly end: number;
}

/** worker -> main */
export type HashWorkerMessage =
  | { readonly type: "progress"; readonly doneBytes: number }
  | { readonly type: "done"; readonly hashes: Uint8Array }
  | { readonly type: "error"; readonly message: string };

/** Runs one job; the browser passes a Worker-backed runner, elsewhere it runs in this thread. */
export type HashRunner = (job: HashJob, onProgress: (doneBytes: number) => void, signal: AbortSignal) => Promise<Uint8Array>;

export const inThreadRunner: HashRunner = (job, onProgress, signal) =>
  hashPieceRange(job.blobs, job.layout, job.first, job.end, onProgress, signal);

function newHashWorker(): Worker {
  return new Worker(new URL("../workers/hash-worker.ts", import.meta.url), { type: "module", name: "swarmdrop-hash" });
}

/** Workers started ahead of a share (their module loaded), and whether one failed to load. */
const warmWorkers: { readonly worker: Worker; failed: boolean }[] = [];
let keepWarm = false;

/**
 * Starts hashWorkerCount hashing workers now, idle, so a share does not wait
 * for them to load (measured on a busy 2-core machine: the first progress of
 * a 1 GiB share came ~70 ms sooner, which is most of the time to share of a
 * small file); after each share the pool is filled again. Does nothing where
 * there is no Worker.
 */
export function prewarmHashWorkers(count = hashWorkerCount): void {
  if (typeof Worker !== "function") return;
  keepWarm = true;
  while (warmWorkers.length < count) {
    let worker: Worker;
    try {
      worker = newHashWorker();
    } catch {
      return;
    }
    const entry = { worker, failed: false };
    worker.onerror = (event) => {
      entry.failed = true;
      event.preventDefault();
    };
    warmWorkers.push(entry);
  }
}

/** A warm worker if there is one that loaded, else a new one. */
function takeHashWorker(): Worker {
  for (let entry = warmWorkers.shift(); entry !== undefined; entry = warmWorkers.shift()) {
    if (!entry.failed) return entry.worker;
    entry.worker.terminate();
  }
  return newHashWorker();
}

/**
 * A runner that hashes in a dedicated module worker (a warm one when
 * prewarmHashWorkers started some); abort terminates it. A worker that cannot
 * start (no module workers, a blocked script) falls back to hashing in this
 * thread, so sharing still works, only slower.
 */
export const workerRunner: HashRunner = (job, onProgress, signal) =>
  new Promise<Uint8Array>((resolve, reject) => {
    let worker: Worker;
    try {
      worker = takeHashWorker();
    } catch {
      inThreadRunner(job, onProgress, signal).then(resolve, reject);
      return;
    }
    let heard = false;
    const finish = (): void => {
      signal.removeEventListener("abort", onAbort);
      worker.terminate();
    };
    const onAbort = (): void => {
      finish();
      reject(abortError());
    };
    signal.addEventListener("abort", onAbort);
    worker.onmessage = (event: MessageEvent<HashWorkerMessage>) => {
      heard = true;
      const m = event.data;
      if (m.type === "progress") onProgress(m.doneBytes);
      else if (m.type === "done") {
        finish();
        onProgress(Math.min(job.end * job.layout.pieceLength, job.layout.totalLength) - job.first * job.layout.pieceLength);
        resolve(m.hashes);
      } else {
        finish();
        reject(new ShareInputError(m.message));
      }
    };
    worker.onerror = (event) => {
      finish();
      if (!heard && !signal.aborted) {
        event.preventDefault();
        inThreadRunner(job, onProgress, signal).then(resolve, reject);
        return;
      }
      reject(new ShareInputError(`the hashing worker failed: ${event.message}`));
    };
    worker.postMessage(job);
  });

export function abortError(): DOMException {
  return new DOMException("Sharing was cancelled.", "AbortError");
}

export interface HashFilesOptions {
  readonly signal?: AbortSignal;
  readonly name?: string;
  readonly onProgress?: (doneBytes: number, totalBytes: number) => void;
  /** Workers to use (default: hashWorkerCount). */
  readonly workers?: number;
  readonly runner?: HashRunner;
  /** Piece length (default: choosePieceLength). */
  readonly pieceLength?: number;
}

export interface HashedTorrent {
  readonly info: TorrentInfo;
  /** The dropped blobs in torrent order (info.files order): the seed's piece source. */
  readonly blobs: readonly Blob[];
}

/**
 * Hashing workers, whatever the core count: each reads its own piece range,
 * and a Blob read's rate is bound by its round trips to the browser more
 * than by the CPU (in the hashing workers, digests never waited; reads did).
 * Measured in Chromium on 2 cores, 1 GiB from disk: 2 workers ~360 MB/s,
 * 4 ~450 MB/s, 6 and 8 no faster than 4.
 */
export const hashWorkerCount = 4;

export function defaultWorkerCount(): number {
  return hashWorkerCount;
}

/** Hashes dropped files into a torrent. Rejects with an AbortError DOMException when cancelled. */
export async function hashFiles(dropped: readonly DroppedFile[], options: HashFilesOptions = {}): Promise<HashedTorrent> {
  const plan = planTorrent(dropped, options.name);
  const pieceLength = options.pieceLength ?? choosePieceLength(plan.totalLength);
  const layout = planLayout(plan, pieceLength);
  const blobs = plan.files.map((f) => f.blob);
  const runner = options.runner ?? (typeof Worker === "function" ? workerRunner : inThreadRunner);
  const ranges = splitPieces(layout.pieceCount, options.workers ?? defaultWorkerCount());
  const outer = options.signal;
  if (outer?.aborted) throw abortError();
  // One controller for all workers: cancel from outside, or the first failure, stops the rest.
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort();
  outer?.addEventListener("abort", onOuterAbort);
  const done = ranges.map(() => 0);
  // The pool is filled again once this share is hashed (not while it hashes).
  const refill = (): void => {
    if (keepWarm && runner === workerRunner) setTimeout(() => prewarmHashWorkers(), 1000);
  };
  try {
    const parts = await Promise.all(
      ranges.map((range, k) =>
        runner({ blobs, layout, first: range.first, end: range.end }, (bytes) => {
          done[k] = bytes;
          options.onProgress?.(
            done.reduce((a, b) => a + b, 0),
            plan.totalLength,
          );
        }, controller.signal).catch((err: unknown) => {
          controller.abort();
          throw err;
        }),
      ),
    );
    if (outer?.aborted) throw abortError();
    const pieceHashes = new Uint8Array(layout.pieceCount * 20);
    parts.forEach((hashes, k) => pieceHashes.set(hashes, ranges[k]!.first * 20));
    try {
      const info = await buildInfo({
        name: plan.name,
        files: plan.files.map((f) => ({ path: f.path, length: f.blob.size })),
        pieceLength,
        pieceHashes,
        singleFile: plan.singleFile,
      });
      return { info, blobs };
    } catch (err) {
      if (err instanceof MetainfoError) throw new ShareInputError(`cannot share these files: ${err.message}`);
      throw err;
    }
  } catch (err) {
    if (outer?.aborted) throw abortError();
    throw err;
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
    refill();
  }
}
