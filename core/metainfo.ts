// Metainfo (BEP 3, v1 torrents): the info dict, its infohash, piece hashes and
// .torrent files. Pure: hashing goes through core/bytes.ts (WebCrypto).
//
// Decisions worth knowing:
// - The infohash is SHA-1 of the info dict's bytes exactly as they appear (in a
//   .torrent file, the raw span of the `info` value; BEP 3). We never re-encode
//   a parsed info dict to hash it.
// - A torrent must hold at least one byte. BEP 3 does not forbid an empty
//   torrent, but it would have zero pieces, nothing to verify and nothing to
//   share; several clients reject it. Creating or reading one raises
//   MetainfoError ("a torrent must hold at least one byte").
// - Piece length: reading accepts any power of two from 16 KiB to 16 MiB;
//   creating (choosePieceLength, createTorrentFromBytes) uses 16 KiB..4 MiB.
// - File names prefer `name.utf-8` / `path.utf-8` when present and valid
//   UTF-8 (a common extension); other names are decoded as UTF-8 with
//   U+FFFD for invalid bytes (the raw bytes still go into the infohash).
// - Path segments must be non-empty, not "." or "..", and free of "/", "\\"
//   and NUL, so that a malicious torrent cannot write outside its folder.
//   Two files with the same path, or a file that is also a folder of another
//   file, are rejected for the same reason.
import { concatBytes, fromUtf8, sha1, utf8 } from "./bytes.ts";
import { BencodeError, decode, decodePrefix, dict, encode, isBytes, isDict, isInt, isList, type BDict, type BValue } from "./bencode.ts";
import { infoHashFromBytes, type InfoHash } from "./ids.ts";

export class MetainfoError extends Error {
  override name = "MetainfoError";
}

export interface TorrentFileEntry {
  /** Path segments below the torrent's folder (multi-file), or [name] (single-file). */
  readonly path: readonly string[];
  readonly length: number;
  /** Byte offset in the concatenated stream. */
  readonly offset: number;
}

export interface TorrentInfo {
  readonly infoHash: InfoHash;
  readonly name: string;
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalLength: number;
  /** In torrent order. A single-file torrent has one entry whose path is [name]. */
  readonly files: readonly TorrentFileEntry[];
  readonly isMultiFile: boolean;
  /** 20 * pieceCount bytes: the SHA-1 of each piece, in order. */
  readonly pieceHashes: Uint8Array;
  /** The bencoded info dict exactly as hashed (served to peers via BEP 9). */
  readonly infoBytes: Uint8Array;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
/** Smallest piece length accepted (one 16 KiB block). */
export const minPieceLengthBytes = 16 * KiB;
/** Largest piece length we create. */
export const maxCreatePieceLengthBytes = 4 * MiB;
/** Largest piece length we accept when reading. */
export const maxReadPieceLengthBytes = 16 * MiB;
/** choosePieceLength aims for at most this many pieces (and at least half of it). */
export const targetMaxPieceCount = 2000;
const HASH_BYTES = 20;

const isPowerOfTwo = (n: number): boolean => Number.isSafeInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;

/**
 * A power-of-two piece length from 16 KiB to 4 MiB aiming for 1,000-2,000
 * pieces: the smallest power of two giving at most 2,000 pieces, clamped.
 * (Small torrents get 16 KiB; above ~8 GiB the 4 MiB cap means more pieces.)
 */
export function choosePieceLength(totalLength: number): number {
  if (!Number.isSafeInteger(totalLength) || totalLength < 0) {
    throw new MetainfoError(`total length must be a non-negative integer, got ${totalLength}`);
  }
  let pieceLength = minPieceLengthBytes;
  while (pieceLength < maxCreatePieceLengthBytes && Math.ceil(totalLength / pieceLength) > targetMaxPieceCount) pieceLength *= 2;
  return pieceLength;
}

/** The number of pieces a stream of `totalLength` bytes has at `pieceLength`. */
export function pieceCountFor(totalLength: number, pieceLength: number): number {
  return Math.ceil(totalLength / pieceLength);
}

/** Size in bytes of piece `index`: pieceLength, except a shorter last piece. */
export function pieceSize(info: Pick<TorrentInfo, "pieceLength" | "pieceCount" | "totalLength">, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) {
    throw new MetainfoError(`piece index ${index} is outside 0..${info.pieceCount - 1}`);
  }
  if (index < info.pieceCount - 1) return info.pieceLength;
  return info.totalLength - info.pieceLength * (info.pieceCount - 1);
}

/** The 20-byte SHA-1 expected for piece `index` (a view, not a copy). */
export function pieceHashAt(info: Pick<TorrentInfo, "pieceCount" | "pieceHashes">, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) {
    throw new MetainfoError(`piece index ${index} is outside 0..${info.pieceCount - 1}`);
  }
  return info.pieceHashes.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
}

/**
 * Hashes a byte stream into piece hashes as chunks arrive, whatever their
 * sizes, holding at most one piece in memory. Await each update before the
 * next (calls are also queued internally) and do not change a chunk until its
 * update has resolved.
 */
export class PieceHasher {
  readonly #pieceLength: number;
  readonly #buffer: Uint8Array;
  #buffered = 0;
  readonly #hashes: Uint8Array[] = [];
  #bytesHashed = 0;
  #tail: Promise<void> = Promise.resolve();
  #finished = false;

  constructor(pieceLength: number) {
    if (!isPowerOfTwo(pieceLength) || pieceLength < minPieceLengthBytes || pieceLength > maxReadPieceLengthBytes) {
      throw new MetainfoError(`piece length must be a power of two from 16 KiB to 16 MiB, got ${pieceLength}`);
    }
    this.#pieceLength = pieceLength;
    this.#buffer = new Uint8Array(pieceLength);
  }

  /** Bytes passed to update so far (for progress). */
  get bytesHashed(): number {
    return this.#bytesHashed;
  }

  /** Pieces hashed so far (complete pieces only until finish). */
  get piecesHashed(): number {
    return this.#hashes.length;
  }

  update(chunk: Uint8Array): Promise<void> {
    if (this.#finished) return Promise.reject(new MetainfoError("PieceHasher.update called after finish"));
    const run = this.#tail.then(() => this.#consume(chunk));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #consume(chunk: Uint8Array): Promise<void> {
    const size = this.#pieceLength;
    let pos = 0;
    // Top up a partly filled piece first.
    if (this.#buffered > 0) {
      const take = Math.min(size - this.#buffered, chunk.length);
      this.#buffer.set(chunk.subarray(0, take), this.#buffered);
      this.#buffered += take;
      pos = take;
      if (this.#buffered === size) {
        this.#hashes.push(await sha1(this.#buffer));
        this.#buffered = 0;
      }
    }
    // Whole pieces straight from the chunk, hashed concurrently.
    const whole: Promise<Uint8Array>[] = [];
    while (chunk.length - pos >= size) {
      whole.push(sha1(chunk.subarray(pos, pos + size)));
      pos += size;
    }
    if (whole.length > 0) this.#hashes.push(...(await Promise.all(whole)));
    // Keep the tail for the next chunk.
    if (pos < chunk.length) {
      this.#buffer.set(chunk.subarray(pos), this.#buffered);
      this.#buffered += chunk.length - pos;
    }
    this.#bytesHashed += chunk.length;
  }

  /** Concatenated 20-byte hashes of every piece, a final short piece included. */
  async finish(): Promise<Uint8Array> {
    if (this.#finished) throw new MetainfoError("PieceHasher.finish called twice");
    this.#finished = true;
    await this.#tail;
    if (this.#buffered > 0) {
      this.#hashes.push(await sha1(this.#buffer.subarray(0, this.#buffered)));
      this.#buffered = 0;
    }
    return concatBytes(this.#hashes);
  }
}

// ---------------------------------------------------------------------------
// Validation shared by building and reading.

function checkSegment(segment: string, what: string): void {
  if (segment.length === 0) throw new MetainfoError(`${what} is empty`);
  if (segment === "." || segment === "..") throw new MetainfoError(`${what} ${JSON.stringify(segment)} is not allowed (it would leave the torrent's folder)`);
  if (segment.includes("/") || segment.includes("\\")) throw new MetainfoError(`${what} ${JSON.stringify(segment)} contains a path separator`);
  if (segment.includes("\0")) throw new MetainfoError(`${what} ${JSON.stringify(segment)} contains a NUL character`);
}

function checkPieceLength(pieceLength: number, maxBytes: number): void {
  if (!isPowerOfTwo(pieceLength) || pieceLength < minPieceLengthBytes || pieceLength > maxBytes) {
    throw new MetainfoError(`piece length must be a power of two from 16 KiB to ${maxBytes / MiB} MiB, got ${pieceLength}`);
  }
}

interface CheckedLayout {
  files: TorrentFileEntry[];
  totalLength: number;
}

function checkFiles(name: string, files: readonly { path: readonly string[]; length: number }[]): CheckedLayout {
  checkSegment(name, "the torrent name");
  if (files.length === 0) throw new MetainfoError("a torrent needs at least one file");
  const out: TorrentFileEntry[] = [];
  const seen = new Set<string>();
  const folders = new Set<string>();
  let offset = 0;
  files.forEach((file, i) => {
    if (file.path.length === 0) throw new MetainfoError(`file ${i} has an empty path`);
    file.path.forEach((segment, j) => checkSegment(segment, `file ${i} path segment ${j}`));
    if (!Number.isSafeInteger(file.length) || file.length < 0) {
      throw new MetainfoError(`file ${i} (${file.path.join("/")}) has length ${file.length}; a length is a non-negative integer`);
    }
    // "\0" cannot occur inside a segment, so it is a safe joiner.
    const key = file.path.join("\0");
    if (seen.has(key) || folders.has(key)) throw new MetainfoError(`file path ${file.path.join("/")} appears twice`);
    for (let k = 1; k < file.path.length; k++) {
      const folder = file.path.slice(0, k).join("\0");
      if (seen.has(folder)) throw new MetainfoError(`${file.path.slice(0, k).join("/")} is both a file and a folder`);
      folders.add(folder);
    }
    seen.add(key);
    out.push({ path: [...file.path], length: file.length, offset });
    offset += file.length;
    if (!Number.isSafeInteger(offset)) throw new MetainfoError("the total length is too large");
  });
  if (offset === 0) throw new MetainfoError("a torrent must hold at least one byte; every file is empty");
  return { files: out, totalLength: offset };
}

function checkPieces(totalLength: number, pieceLength: number, pieceHashes: Uint8Array): number {
  if (pieceHashes.length % HASH_BYTES !== 0) {
    throw new MetainfoError(`pieces field is ${pieceHashes.length} bytes, not a multiple of 20`);
  }
  const pieceCount = pieceHashes.length / HASH_BYTES;
  const expected = pieceCountFor(totalLength, pieceLength);
  if (pieceCount !== expected) {
    throw new MetainfoError(
      `piece count ${pieceCount} does not match total length ${totalLength} at piece length ${pieceLength} (expected ${expected} pieces)`,
    );
  }
  return pieceCount;
}

// ---------------------------------------------------------------------------
// Building.

export interface BuildInfoInput {
  name: string;
  files: readonly { path: readonly string[]; length: number }[];
  pieceLength: number;
  pieceHashes: Uint8Array;
  /**
   * Write a single-file info dict ({name, length}). Defaults to true when there
   * is exactly one file whose path is [name]; a folder holding one file stays
   * multi-file. When true, the one file's path becomes [name].
   */
  singleFile?: boolean;
}

/** Validates the layout, writes the info dict (BEP 3) and computes its infohash. */
export async function buildInfo(input: BuildInfoInput): Promise<TorrentInfo> {
  const { name, pieceLength, pieceHashes } = input;
  const first = input.files[0];
  const singleFile = input.singleFile ?? (input.files.length === 1 && first?.path.length === 1 && first.path[0] === name);
  if (singleFile && input.files.length !== 1) {
    throw new MetainfoError(`a single-file torrent has exactly one file, got ${input.files.length}`);
  }
  checkPieceLength(pieceLength, maxReadPieceLengthBytes);
  const layout = checkFiles(name, singleFile ? [{ path: [name], length: first?.length ?? 0 }] : input.files);
  const pieceCount = checkPieces(layout.totalLength, pieceLength, pieceHashes);
  const hashes = pieceHashes.slice();
  const infoDict: BDict = singleFile
    ? dict({ name: utf8(name), length: layout.totalLength, "piece length": pieceLength, pieces: hashes })
    : dict({
        name: utf8(name),
        files: layout.files.map((f) => dict({ length: f.length, path: f.path.map((s) => utf8(s)) })),
        "piece length": pieceLength,
        pieces: hashes,
      });
  const infoBytes = encode(infoDict);
  return {
    infoHash: infoHashFromBytes(await sha1(infoBytes)),
    name,
    pieceLength,
    pieceCount,
    totalLength: layout.totalLength,
    files: layout.files,
    isMultiFile: !singleFile,
    pieceHashes: hashes,
    infoBytes,
  };
}

/**
 * Builds a torrent from in-memory files (tests, simulator, small CLI inputs).
 * A single file whose path is [name] makes a single-file torrent; anything
 * else is a multi-file torrent named `name`. Piece length defaults to
 * choosePieceLength(total).
 */
export async function createTorrentFromBytes(
  name: string,
  files: readonly { path: readonly string[]; data: Uint8Array }[],
  pieceLength?: number,
): Promise<TorrentInfo> {
  let total = 0;
  for (const f of files) total += f.data.length;
  const chosen = pieceLength ?? choosePieceLength(total);
  checkPieceLength(chosen, maxCreatePieceLengthBytes);
  // Validate names before hashing, so bad input fails fast with a clear message.
  checkFiles(name, files.map((f) => ({ path: f.path, length: f.data.length })));
  const hasher = new PieceHasher(chosen);
  for (const f of files) await hasher.update(f.data);
  return buildInfo({ name, files: files.map((f) => ({ path: f.path, length: f.data.length })), pieceLength: chosen, pieceHashes: await hasher.finish() });
}

// ---------------------------------------------------------------------------
// Reading.

const lossyDecoder = new TextDecoder("utf-8");

/** Prefers the `<key>.utf-8` variant when it is present and valid UTF-8. */
function readText(d: BDict, key: string, utf8Key: string): string | null {
  const preferred = d[utf8Key];
  if (isBytes(preferred)) {
    const text = fromUtf8(preferred);
    if (text !== null) return text;
  }
  const raw = d[key];
  if (!isBytes(raw)) return null;
  return lossyDecoder.decode(raw);
}

function readPath(file: BDict, i: number): string[] {
  const pick = (key: string): BValue[] | null => {
    const v = file[key];
    return isList(v) && v.length > 0 && v.every(isBytes) ? v : null;
  };
  const preferred = pick("path.utf-8");
  if (preferred !== null) {
    const decoded = (preferred as Uint8Array[]).map((s) => fromUtf8(s));
    if (decoded.every((s): s is string => s !== null)) return decoded;
  }
  const raw = file["path"];
  if (!isList(raw)) throw new MetainfoError(`file ${i} has no path list`);
  if (raw.length === 0) throw new MetainfoError(`file ${i} has an empty path`);
  return raw.map((segment, j) => {
    if (!isBytes(segment)) throw new MetainfoError(`file ${i} path segment ${j} is not a string`);
    return lossyDecoder.decode(segment);
  });
}

/**
 * Parses and validates a bencoded info dict (from BEP 9 ut_metadata or a
 * .torrent). When `expected` is given, its SHA-1 must equal it (BEP 9: the
 * receiver checks the metadata against the infohash).
 */
export async function infoFromBytes(infoBytes: Uint8Array, expected?: InfoHash): Promise<TorrentInfo> {
  const infoHash = infoHashFromBytes(await sha1(infoBytes));
  if (expected !== undefined && infoHash !== expected) {
    throw new MetainfoError(`info dict hashes to ${infoHash}, not the expected infohash ${expected}`);
  }
  let value: BValue;
  try {
    value = decode(infoBytes);
  } catch (err) {
    if (err instanceof BencodeError) throw new MetainfoError(`info dict is not valid bencode: ${err.message}`);
    throw err;
  }
  if (!isDict(value)) throw new MetainfoError("info is not a dictionary");
  const name = readText(value, "name", "name.utf-8");
  if (name === null) throw new MetainfoError("info dict has no name");
  const pieceLength = value["piece length"];
  if (!isInt(pieceLength)) throw new MetainfoError("info dict has no integer 'piece length'");
  checkPieceLength(pieceLength, maxReadPieceLengthBytes);
  const pieces = value["pieces"];
  if (!isBytes(pieces)) throw new MetainfoError("info dict has no 'pieces' string");

  const length = value["length"];
  const filesValue = value["files"];
  if (length !== undefined && filesValue !== undefined) throw new MetainfoError("info dict has both 'length' and 'files'");
  let layout: CheckedLayout;
  let isMultiFile: boolean;
  if (filesValue !== undefined) {
    if (!isList(filesValue)) throw new MetainfoError("'files' is not a list");
    const files = filesValue.map((f, i) => {
      if (!isDict(f)) throw new MetainfoError(`file ${i} is not a dictionary`);
      const fileLength = f["length"];
      if (!isInt(fileLength)) throw new MetainfoError(`file ${i} has no integer length`);
      return { path: readPath(f, i), length: fileLength };
    });
    layout = checkFiles(name, files);
    isMultiFile = true;
  } else {
    if (!isInt(length)) throw new MetainfoError("info dict has neither an integer 'length' nor a 'files' list");
    layout = checkFiles(name, [{ path: [name], length }]);
    isMultiFile = false;
  }
  const pieceCount = checkPieces(layout.totalLength, pieceLength, pieces);
  return {
    infoHash,
    name,
    pieceLength,
    pieceCount,
    totalLength: layout.totalLength,
    files: layout.files,
    isMultiFile,
    pieceHashes: pieces.slice(),
    infoBytes: infoBytes.slice(),
  };
}

// ---------------------------------------------------------------------------
// .torrent files.

export interface TorrentFileMeta {
  /** Tracker URLs; the first becomes `announce`, all go into `announce-list` (BEP 12), one per tier. */
  announce: readonly string[];
  comment?: string;
  createdBy?: string;
  /** Seconds since the Unix epoch. */
  creationDateS?: number;
  /** Web seeds (BEP 19 `url-list`). */
  webSeeds?: readonly string[];
}

/** Writes a .torrent file embedding `info.infoBytes` unchanged, so its infohash is kept. */
export function encodeTorrentFile(info: TorrentInfo, meta: TorrentFileMeta): Uint8Array {
  if (meta.creationDateS !== undefined && (!Number.isSafeInteger(meta.creationDateS) || meta.creationDateS < 0)) {
    throw new MetainfoError(`creation date must be whole seconds since 1970, got ${meta.creationDateS}`);
  }
  const first = meta.announce[0];
  // Keys sort before "info" here ...
  const before = dict({
    announce: first === undefined ? undefined : utf8(first),
    "announce-list": meta.announce.length > 1 ? meta.announce.map((url) => [utf8(url)]) : undefined,
    comment: meta.comment === undefined ? undefined : utf8(meta.comment),
    "created by": meta.createdBy === undefined ? undefined : utf8(meta.createdBy),
    "creation date": meta.creationDateS,
  });
  // ... and after it. Splicing keeps the info bytes exactly as hashed.
  const after = dict({
    "url-list": meta.webSeeds !== undefined && meta.webSeeds.length > 0 ? meta.webSeeds.map((url) => utf8(url)) : undefined,
  });
  const head = encode(before);
  const tail = encode(after);
  return concatBytes([head.subarray(0, head.length - 1), utf8("4:info"), info.infoBytes, tail.subarray(1)]);
}

export interface ParsedTorrentFile {
  info: TorrentInfo;
  /** Tracker URLs: announce-list tiers flattened (BEP 12), else announce; no duplicates. */
  announce: string[];
  /** Web seeds from `url-list` (BEP 19); empty when none. */
  webSeeds: string[];
  comment?: string;
  createdBy?: string;
  creationDateS?: number;
}

/** Finds the raw byte span of each top-level value in a bencoded dict. */
function topLevelSpans(bytes: Uint8Array): Map<string, { start: number; end: number; value: BValue }> {
  const spans = new Map<string, { start: number; end: number; value: BValue }>();
  if (bytes[0] !== 0x64 /* d */) throw new MetainfoError("not a .torrent file: it does not start with a bencoded dictionary");
  let pos = 1;
  try {
    for (;;) {
      if (pos >= bytes.length) throw new MetainfoError("truncated .torrent file");
      if (bytes[pos] === 0x65 /* e */) {
        pos++;
        break;
      }
      const key = decodePrefix(bytes.subarray(pos));
      if (!isBytes(key.value)) throw new MetainfoError(`a dictionary key at byte ${pos} is not a string`);
      pos += key.end;
      const value = decodePrefix(bytes.subarray(pos));
      const keyText = String.fromCharCode(...key.value);
      if (spans.has(keyText)) throw new MetainfoError(`duplicate key ${JSON.stringify(keyText)} in .torrent file`);
      spans.set(keyText, { start: pos, end: pos + value.end, value: value.value });
      pos += value.end;
    }
  } catch (err) {
    if (err instanceof BencodeError) throw new MetainfoError(`not a valid .torrent file: ${err.message}`);
    throw err;
  }
  if (pos !== bytes.length) throw new MetainfoError(`trailing bytes after the .torrent dictionary at byte ${pos}`);
  return spans;
}

function textOf(v: BValue | undefined): string | undefined {
  return isBytes(v) ? lossyDecoder.decode(v) : undefined;
}

/** Parses a .torrent file; the infohash is SHA-1 of the raw `info` span (BEP 3). */
export async function parseTorrentFile(bytes: Uint8Array): Promise<ParsedTorrentFile> {
  const spans = topLevelSpans(bytes);
  const infoSpan = spans.get("info");
  if (infoSpan === undefined) throw new MetainfoError("the .torrent file has no info dictionary");
  if (!isDict(infoSpan.value)) throw new MetainfoError("the .torrent file's info is not a dictionary");
  const info = await infoFromBytes(bytes.subarray(infoSpan.start, infoSpan.end));

  const announce: string[] = [];
  const add = (v: BValue | undefined): void => {
    const url = textOf(v)?.trim();
    if (url !== undefined && url !== "" && !announce.includes(url)) announce.push(url);
  };
  const list = spans.get("announce-list")?.value;
  if (isList(list)) for (const tier of list) if (isList(tier)) tier.forEach(add);
  add(spans.get("announce")?.value);

  const webSeeds: string[] = [];
  const urlList = spans.get("url-list")?.value;
  for (const v of isList(urlList) ? urlList : [urlList]) {
    const url = textOf(v);
    if (url !== undefined && url !== "" && !webSeeds.includes(url)) webSeeds.push(url);
  }

  const out: ParsedTorrentFile = { info, announce, webSeeds };
  const comment = textOf(spans.get("comment")?.value);
  if (comment !== undefined) out.comment = comment;
  const createdBy = textOf(spans.get("created by")?.value);
  if (createdBy !== undefined) out.createdBy = createdBy;
  const date = spans.get("creation date")?.value;
  if (isInt(date)) out.creationDateS = date;
  return out;
}
