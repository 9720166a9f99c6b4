// Resume state of the headless peer, kept as small JSON files in the state
// folder ($XDG_STATE_HOME/swarmdrop, else ~/.local/state/swarmdrop, or --state-dir):
//
//   seed-<key>.json      after hashing files to seed: the info dict and each
//                        file's size and mtime. `seed --resume` reuses the info
//                        dict (skips hashing) only when every file still has the
//                        same path, size and mtime, and the piece length matches.
//   get-<infohash>-<key>.json  a download's verified pieces (BEP 3 bitfield) and
//                        each file's size and mtime when last saved; when they
//                        still match, those pieces need not be re-hashed.
//
// A missing, unreadable or corrupt state file is never fatal: it only means
// "hash again", with the reason given.
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { InfoHash } from "../core/ids.ts";
import { infoFromBytes, MetainfoError, type TorrentInfo } from "../core/metainfo.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import type { SourceSet } from "./source-files.ts";
import { StorageError, errnoCode, fsReason } from "./errors.ts";

export const stateVersion = 1;

export function defaultStateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env["XDG_STATE_HOME"];
  return join(xdg !== undefined && xdg !== "" ? xdg : join(homedir(), ".local", "state"), "swarmdrop");
}

const shortKey = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 16);

export function seedStateFile(stateDir: string, sources: SourceSet): string {
  return join(stateDir, `seed-${shortKey(JSON.stringify([sources.name, sources.files.map((f) => f.absPath)]))}.json`);
}

export function downloadStateFile(stateDir: string, info: { readonly infoHash: InfoHash }, outDir: string): string {
  return join(stateDir, `get-${info.infoHash}-${shortKey(outDir)}.json`);
}

export interface FileStamp {
  readonly length: number;
  /** null: the file did not exist. */
  readonly mtimeMs: number | null;
}

export interface SeedState {
  readonly version: typeof stateVersion;
  readonly kind: "seed";
  readonly name: string;
  readonly singleFile: boolean;
  readonly pieceLength: number;
  readonly infoHash: string;
  readonly files: readonly { readonly absPath: string; readonly path: readonly string[]; readonly length: number; readonly mtimeMs: number }[];
  /** The bencoded info dict, base64. */
  readonly infoBytes: string;
}

export interface DownloadState {
  readonly version: typeof stateVersion;
  readonly kind: "download";
  readonly infoHash: string;
  readonly outDir: string;
  readonly files: readonly FileStamp[];
  /** BEP 3 bitfield of verified pieces, base64. */
  readonly verified: string;
  /** The info dict, base64, so a magnet download resumes without fetching it again. */
  readonly infoBytes?: string;
}

export type Match<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
const fromBase64 = (text: string): Uint8Array | null => (/^[A-Za-z0-9+/]*={0,2}$/.test(text) ? new Uint8Array(Buffer.from(text, "base64")) : null);

export function makeSeedState(sources: SourceSet, info: TorrentInfo): SeedState {
  return {
    version: stateVersion,
    kind: "seed",
    name: sources.name,
    singleFile: sources.singleFile,
    pieceLength: info.pieceLength,
    infoHash: info.infoHash,
    files: sources.files.map((f) => ({ absPath: f.absPath, path: [...f.path], length: f.length, mtimeMs: f.mtimeMs })),
    infoBytes: toBase64(info.infoBytes),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Whether a saved seed state still describes `sources`; on a match, the saved
 * info dict (re-validated, its hash re-checked). `pieceLength` null accepts any.
 */
export async function matchSeedState(saved: unknown, sources: SourceSet, pieceLength: number | null): Promise<Match<TorrentInfo>> {
  if (!isRecord(saved) || saved["version"] !== stateVersion || saved["kind"] !== "seed") return { ok: false, reason: "the state file is not a seed state of this version" };
  if (saved["name"] !== sources.name) return { ok: false, reason: `the torrent name changed (was ${JSON.stringify(saved["name"])})` };
  if (saved["singleFile"] !== sources.singleFile) return { ok: false, reason: "single-file/folder layout changed" };
  if (pieceLength !== null && saved["pieceLength"] !== pieceLength) return { ok: false, reason: `the piece length changed (was ${String(saved["pieceLength"])})` };
  const files = saved["files"];
  if (!Array.isArray(files)) return { ok: false, reason: "the state file has no file list" };
  if (files.length !== sources.files.length) return { ok: false, reason: `the number of files changed (${files.length} then, ${sources.files.length} now)` };
  for (const [i, now] of sources.files.entries()) {
    const then: unknown = files[i];
    if (!isRecord(then) || then["absPath"] !== now.absPath || JSON.stringify(then["path"]) !== JSON.stringify(now.path)) {
      return { ok: false, reason: `file ${now.absPath} is new or moved` };
    }
    if (then["length"] !== now.length) return { ok: false, reason: `${now.absPath} changed size` };
    if (then["mtimeMs"] !== now.mtimeMs) return { ok: false, reason: `${now.absPath} was modified` };
  }
  const infoBytes = typeof saved["infoBytes"] === "string" ? fromBase64(saved["infoBytes"]) : null;
  if (infoBytes === null) return { ok: false, reason: "the state file's info dict is missing or not base64" };
  let info: TorrentInfo;
  try {
    info = await infoFromBytes(infoBytes);
  } catch (err) {
    if (err instanceof MetainfoError) return { ok: false, reason: `the saved info dict is invalid: ${err.message}` };
    throw err;
  }
  if (info.infoHash !== saved["infoHash"]) return { ok: false, reason: "the saved info dict does not match its infohash" };
  const sameLayout =
    info.files.length === sources.files.length && info.files.every((f, i) => f.length === sources.files[i]!.length && f.path.join("/") === sources.files[i]!.path.join("/"));
  if (!sameLayout || info.name !== sources.name) return { ok: false, reason: "the saved info dict describes other files" };
  return { ok: true, value: info };
}

export function makeDownloadState(info: TorrentInfo, outDir: string, stamps: readonly FileStamp[], verified: Bitfield): DownloadState {
  return {
    version: stateVersion,
    kind: "download",
    infoHash: info.infoHash,
    outDir,
    files: [...stamps],
    verified: toBase64(verified.toBytes()),
    infoBytes: toBase64(info.infoBytes),
  };
}

/** The info dict a download state saved for `infoHash` (re-validated and re-hashed), or null. */
export async function savedDownloadInfo(saved: unknown, infoHash: InfoHash): Promise<TorrentInfo | null> {
  if (!isRecord(saved) || saved["version"] !== stateVersion || saved["kind"] !== "download" || saved["infoHash"] !== infoHash) return null;
  const bytes = typeof saved["infoBytes"] === "string" ? fromBase64(saved["infoBytes"]) : null;
  if (bytes === null) return null;
  try {
    return await infoFromBytes(bytes, infoHash);
  } catch (err) {
    if (err instanceof MetainfoError) return null;
    throw err;
  }
}

/** Whether a saved download state still describes the files on disk; on a match, the verified pieces. */
export function matchDownloadState(saved: unknown, info: TorrentInfo, outDir: string, stamps: readonly FileStamp[]): Match<Bitfield> {
  if (!isRecord(saved) || saved["version"] !== stateVersion || saved["kind"] !== "download") return { ok: false, reason: "the state file is not a download state of this version" };
  if (saved["infoHash"] !== info.infoHash) return { ok: false, reason: "the state file belongs to another torrent" };
  if (saved["outDir"] !== outDir) return { ok: false, reason: "the state file belongs to another download folder" };
  const files = saved["files"];
  if (!Array.isArray(files) || files.length !== stamps.length) return { ok: false, reason: "the number of files differs" };
  for (const [i, now] of stamps.entries()) {
    const then: unknown = files[i];
    if (!isRecord(then) || then["length"] !== now.length || then["mtimeMs"] !== now.mtimeMs) {
      return { ok: false, reason: `file ${info.files[i]?.path.join("/") ?? i} changed since the last run` };
    }
  }
  const bytes = typeof saved["verified"] === "string" ? fromBase64(saved["verified"]) : null;
  if (bytes === null) return { ok: false, reason: "the state file's piece list is missing" };
  try {
    return { ok: true, value: Bitfield.fromBytes(bytes, info.pieceCount) };
  } catch (err) {
    return { ok: false, reason: `the state file's piece list is invalid: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Size and mtime of each path; a missing file gets { length: 0, mtimeMs: null }. */
export async function stampFiles(paths: readonly string[]): Promise<FileStamp[]> {
  return Promise.all(
    paths.map(async (p) => {
      try {
        const st = await stat(p);
        return { length: Number(st.size), mtimeMs: Number(st.mtimeMs) };
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return { length: 0, mtimeMs: null };
        throw new StorageError(`cannot read ${p}: ${fsReason(err)}`);
      }
    }),
  );
}

/** Reads a state file: its JSON, or null with the reason when missing or corrupt. */
export async function loadState(file: string): Promise<Match<unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    return { ok: false, reason: errnoCode(err) === "ENOENT" ? "no saved state from an earlier run" : `cannot read ${file}: ${fsReason(err)}` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: `${file} is corrupt (not JSON)` };
  }
}

/** Writes a state file atomically (temp file, then rename). */
export async function saveState(file: string, state: SeedState | DownloadState): Promise<void> {
  const dir = join(file, "..");
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, JSON.stringify(state));
    await rename(tmp, file);
  } catch (err) {
    throw new StorageError(`cannot save resume state to ${file}: ${fsReason(err)}`);
  }
}
