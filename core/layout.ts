// Mapping between the piece stream and files (BEP 3: the pieces cover the files
// concatenated in torrent order). Pure arithmetic over TorrentInfo.
import { pieceSize, type TorrentInfo } from "./metainfo.ts";

export class LayoutError extends RangeError {
  override name = "LayoutError";
}

/** One contiguous run of bytes that lies in one file. */
export interface FileSegment {
  /** Index into info.files. */
  readonly fileIndex: number;
  /** Byte offset inside that file. */
  readonly fileOffset: number;
  /** Byte offset inside the piece (pieceSegments) or inside the requested range (byteRangeSegments). */
  readonly pieceOffset: number;
  readonly length: number;
}

export type LayoutInfo = Pick<TorrentInfo, "files" | "pieceLength" | "pieceCount" | "totalLength">;

/** Index of the first file whose bytes reach past `offset` (files are sorted by offset; empty ones are skipped). */
function fileAt(files: LayoutInfo["files"], offset: number): number {
  let lo = 0;
  let hi = files.length - 1;
  let found = files.length;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const f = files[mid]!;
    if (f.offset + f.length > offset) {
      found = mid;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return found;
}

/**
 * The file pieces of a byte range [offset, offset+length) of the stream, in
 * order; `pieceOffset` counts from `offset`. Empty files get no segment.
 */
export function byteRangeSegments(info: Pick<TorrentInfo, "files" | "totalLength">, offset: number, length: number): FileSegment[] {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > info.totalLength) {
    throw new LayoutError(`byte range ${offset}+${length} is outside the torrent's ${info.totalLength} bytes`);
  }
  const out: FileSegment[] = [];
  if (length === 0) return out;
  const end = offset + length;
  for (let i = fileAt(info.files, offset); i < info.files.length; i++) {
    const f = info.files[i]!;
    if (f.offset >= end) break;
    if (f.length === 0) continue;
    const start = Math.max(offset, f.offset);
    const stop = Math.min(end, f.offset + f.length);
    out.push({ fileIndex: i, fileOffset: start - f.offset, pieceOffset: start - offset, length: stop - start });
  }
  return out;
}

/** The file segments that make up piece `index`, in order; their lengths sum to the piece's size. */
export function pieceSegments(info: LayoutInfo, index: number): FileSegment[] {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) {
    throw new LayoutError(`piece index ${index} is outside 0..${info.pieceCount - 1}`);
  }
  return byteRangeSegments(info, index * info.pieceLength, pieceSize(info, index));
}

/** The pieces that hold any byte of file `fileIndex`, inclusive; null for an empty file. */
export function filePieceRange(info: LayoutInfo, fileIndex: number): { first: number; last: number } | null {
  const f = info.files[fileIndex];
  if (!Number.isInteger(fileIndex) || f === undefined) {
    throw new LayoutError(`file index ${fileIndex} is outside 0..${info.files.length - 1}`);
  }
  if (f.length === 0) return null;
  return { first: Math.floor(f.offset / info.pieceLength), last: Math.floor((f.offset + f.length - 1) / info.pieceLength) };
}

/** The pieces that hold any byte of [offset, offset+length), inclusive; null for an empty range. */
export function byteRangePieces(info: LayoutInfo, offset: number, length: number): { first: number; last: number } | null {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > info.totalLength) {
    throw new LayoutError(`byte range ${offset}+${length} is outside the torrent's ${info.totalLength} bytes`);
  }
  if (length === 0) return null;
  return { first: Math.floor(offset / info.pieceLength), last: Math.floor((offset + length - 1) / info.pieceLength) };
}

/** One piece's share of a byte range of a file. */
export interface FileRangeSpan {
  readonly piece: number;
  /** Where the span starts inside the piece. */
  readonly pieceOffset: number;
  readonly length: number;
  /** Where the span starts inside the file. */
  readonly fileStart: number;
}

/**
 * The pieces holding bytes [start, end) of file `fileIndex`, in order, each
 * with the part of it that lies in the range (what a player's Range request
 * needs read or waited for).
 */
export function fileRangePieces(info: LayoutInfo, fileIndex: number, start: number, end: number): FileRangeSpan[] {
  const f = info.files[fileIndex];
  if (!Number.isInteger(fileIndex) || f === undefined) {
    throw new LayoutError(`file index ${fileIndex} is outside 0..${info.files.length - 1}`);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > f.length) {
    throw new LayoutError(`bytes ${start}..${end} are outside file ${fileIndex} of ${f.length} bytes`);
  }
  const out: FileRangeSpan[] = [];
  let at = f.offset + start;
  const stop = f.offset + end;
  while (at < stop) {
    const piece = Math.floor(at / info.pieceLength);
    const pieceStart = piece * info.pieceLength;
    const to = Math.min(stop, pieceStart + info.pieceLength);
    out.push({ piece, pieceOffset: at - pieceStart, length: to - at, fileStart: at - f.offset });
    at = to;
  }
  return out;
}
