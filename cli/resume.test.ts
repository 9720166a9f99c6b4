import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, utimes, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seededRandom } from "../core/random.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import { createTorrentFromBytes } from "../core/metainfo.ts";
import {
  defaultStateDir,
  downloadStateFile,
  loadState,
  makeDownloadState,
  makeSeedState,
  matchDownloadState,
  matchSeedState,
  saveState,
  savedDownloadInfo,
  seedStateFile,
  stampFiles,
} from "./resume.ts";
import { collectSources, hashSources } from "./source-files.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "swarmdrop-resume-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function makeFolder(): Promise<string> {
  const rng = seededRandom(9);
  const root = join(dir, "share");
  await mkdir(join(root, "sub"), { recursive: true });
  await writeFile(join(root, "a.bin"), rng.bytes(40_000));
  await writeFile(join(root, "sub", "b.bin"), rng.bytes(1000));
  await writeFile(join(root, "sub", "empty"), new Uint8Array(0));
  return root;
}

/** Sets a file's mtime to a fixed instant (so "modified" is unambiguous regardless of clock granularity). */
const touch = (path: string, seconds: number): Promise<void> => utimes(path, seconds, seconds);

describe("seed resume state", () => {
  it("matches when nothing changed, giving back the same torrent without hashing", async () => {
    const root = await makeFolder();
    const sources = await collectSources([root]);
    const info = await hashSources(sources, { pieceLength: 16 * 1024 });
    const file = seedStateFile(join(dir, "state"), sources);
    await saveState(file, makeSeedState(sources, info));

    const again = await collectSources([root]);
    const loaded = await loadState(file);
    expect(loaded.ok).toBe(true);
    const match = await matchSeedState(loaded.ok ? loaded.value : null, again, null);
    expect(match.ok).toBe(true);
    if (match.ok) {
      expect(match.value.infoHash).toBe(info.infoHash);
      expect(match.value.files).toEqual(info.files);
    }
    // Same piece length asked for explicitly: still a match; another one: not.
    expect((await matchSeedState(loaded.ok ? loaded.value : null, again, 16 * 1024)).ok).toBe(true);
    expect(await matchSeedState(loaded.ok ? loaded.value : null, again, 32 * 1024)).toEqual({ ok: false, reason: "the piece length changed (was 16384)" });
  });

  it("does not match after a file is modified, resized, added or removed", async () => {
    const root = await makeFolder();
    await touch(join(root, "a.bin"), 1_600_000_000);
    const sources = await collectSources([root]);
    const saved = makeSeedState(sources, await hashSources(sources));
    const reasonAfter = async (change: () => Promise<void>): Promise<string | null> => {
      await change();
      const m = await matchSeedState(saved, await collectSources([root]), null);
      return m.ok ? null : m.reason;
    };
    expect(await reasonAfter(async () => touch(join(root, "a.bin"), 1_700_000_000))).toMatch(/a\.bin was modified/);
    await touch(join(root, "a.bin"), 1_600_000_000);
    expect(await reasonAfter(async () => undefined)).toBeNull();
    expect(await reasonAfter(async () => writeFile(join(root, "sub", "b.bin"), new Uint8Array(5)))).toMatch(/b\.bin changed size/);
    expect(await reasonAfter(async () => writeFile(join(root, "sub", "new.txt"), "x"))).toMatch(/number of files changed/);
  });

  it("does not match a state that is corrupt, of another kind, or tampered with", async () => {
    const root = await makeFolder();
    const sources = await collectSources([root]);
    const state = makeSeedState(sources, await hashSources(sources));
    expect((await matchSeedState(null, sources, null)).ok).toBe(false);
    expect((await matchSeedState({ ...state, kind: "download" }, sources, null)).ok).toBe(false);
    expect((await matchSeedState({ ...state, version: 2 }, sources, null)).ok).toBe(false);
    expect(await matchSeedState({ ...state, infoBytes: "!!!" }, sources, null)).toMatchObject({ ok: false, reason: /not base64/ });
    const other = await createTorrentFromBytes("share", [{ path: ["x"], data: new Uint8Array(9) }]);
    expect(await matchSeedState({ ...state, infoBytes: Buffer.from(other.infoBytes).toString("base64") }, sources, null)).toMatchObject({
      ok: false,
      reason: /does not match its infohash/,
    });

    const file = join(dir, "corrupt.json");
    await writeFile(file, "{not json");
    expect(await loadState(file)).toEqual({ ok: false, reason: `${file} is corrupt (not JSON)` });
    expect(await loadState(join(dir, "missing.json"))).toEqual({ ok: false, reason: "no saved state from an earlier run" });
  });
});

describe("download resume state", () => {
  it("restores the verified pieces while the files are unchanged, and not after", async () => {
    const info = await createTorrentFromBytes("dl", [
      { path: ["a"], data: seededRandom(1).bytes(40_000) },
      { path: ["b"], data: seededRandom(2).bytes(30_000) },
    ]);
    const out = join(dir, "out");
    await mkdir(join(out, "dl"), { recursive: true });
    const paths = [join(out, "dl", "a"), join(out, "dl", "b")];
    await writeFile(paths[0]!, new Uint8Array(40_000));
    const verified = new Bitfield(info.pieceCount);
    verified.set(0);
    verified.set(2);
    const stamps = await stampFiles(paths);
    expect(stamps[1]).toEqual({ length: 0, mtimeMs: null });
    const file = downloadStateFile(join(dir, "state"), info, out);
    await saveState(file, makeDownloadState(info, out, stamps, verified));

    const loaded = await loadState(file);
    const match = matchDownloadState(loaded.ok ? loaded.value : null, info, out, await stampFiles(paths));
    expect(match.ok && [...match.value.indices()]).toEqual([0, 2]);

    expect(matchDownloadState(loaded.ok ? loaded.value : null, info, join(dir, "elsewhere"), stamps)).toMatchObject({ ok: false, reason: /another download folder/ });
    await writeFile(paths[1]!, "now it exists");
    expect(matchDownloadState(loaded.ok ? loaded.value : null, info, out, await stampFiles(paths))).toMatchObject({ ok: false, reason: /file b changed/ });
    const other = await createTorrentFromBytes("dl", [{ path: ["a"], data: new Uint8Array(5) }]);
    expect(matchDownloadState(loaded.ok ? loaded.value : null, other, out, stamps)).toMatchObject({ ok: false, reason: /another torrent/ });
    // The saved info dict lets a magnet link resume without fetching metadata; never for another infohash.
    expect((await savedDownloadInfo(loaded.ok ? loaded.value : null, info.infoHash))?.files).toEqual(info.files);
    expect(await savedDownloadInfo(loaded.ok ? loaded.value : null, other.infoHash)).toBeNull();
    expect(await savedDownloadInfo({ ...(loaded.ok ? (loaded.value as object) : {}), infoBytes: "AAAA" }, info.infoHash)).toBeNull();
    // A bitfield of the wrong size is refused, not trusted.
    const bad = { ...(loaded.ok ? (loaded.value as object) : {}), verified: Buffer.from(new Uint8Array(9)).toString("base64") };
    expect(matchDownloadState(bad, info, out, stamps)).toMatchObject({ ok: false, reason: /piece list is invalid/ });
  });
});

describe("defaultStateDir", () => {
  it("follows XDG_STATE_HOME, else ~/.local/state", () => {
    expect(defaultStateDir({ XDG_STATE_HOME: "/x/state" })).toBe("/x/state/swarmdrop");
    expect(defaultStateDir({})).toMatch(/\.local\/state\/swarmdrop$/);
  });
});
