import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile, mkdir, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseTorrentFile } from "../core/metainfo.ts";
import { parseShareFragment } from "../core/magnet.ts";
import { ExitCode } from "./args.ts";
import { main, type MainIo } from "./main.ts";
import { collectSources, hashSources } from "./source-files.ts";
import { UnreadablePathError } from "./errors.ts";

const fixtures = resolve(import.meta.dirname, "..", "node_modules", "webtorrent-fixtures", "fixtures");

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "swarmdrop-cli-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function io(signal: AbortSignal = new AbortController().signal): MainIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    signal,
    env: { XDG_STATE_HOME: join(dir, "state") },
    out: () => out,
    err: () => err,
  };
}

describe("hashing files on disk", () => {
  it("reproduces published infohashes, reading in small slices", async () => {
    const cases: [paths: string[], infoHash: string][] = [
      [[join(fixtures, "Leaves of Grass by Walt Whitman.epub")], "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36"],
      [[join(fixtures, "lots-of-numbers")], "114ead6243792ba56297edbb9a78dfba84d4fc00"],
      [[join(fixtures, "numbers")], "89d97c2261a21b040cf11caa661a3ba7233bb7e6"],
    ];
    for (const [paths, infoHash] of cases) {
      const progress: number[] = [];
      const info = await hashSources(await collectSources(paths), { pieceLength: 16 * 1024, sliceBytes: 1000, onProgress: (p) => progress.push(p.doneBytes) });
      expect(info.infoHash).toBe(infoHash);
      expect(progress.at(-1)).toBe(info.totalLength);
    }
  });

  it("puts several paths under one torrent, each folder under its own name", async () => {
    const sources = await collectSources([join(fixtures, "numbers"), join(fixtures, "alice.txt")], "mix");
    expect(sources.name).toBe("mix");
    expect(sources.files.map((f) => f.path.join("/"))).toEqual(["numbers/1.txt", "numbers/2.txt", "numbers/3.txt", "alice.txt"]);
  });

  it("explains unreadable paths and folders with nothing to share", async () => {
    await expect(collectSources([join(dir, "missing")])).rejects.toThrow(/no such file/);
    await mkdir(join(dir, "empty"));
    await expect(collectSources([join(dir, "empty")])).rejects.toThrow(UnreadablePathError);
    await writeFile(join(dir, "empty", "zero"), "");
    await expect(collectSources([join(dir, "empty")])).rejects.toThrow(/every file .* is empty/);
    if (process.getuid?.() !== 0) {
      await writeFile(join(dir, "secret"), "x");
      await chmod(join(dir, "secret"), 0);
      await expect(hashSources(await collectSources([join(dir, "secret")]))).rejects.toThrow(/permission denied/);
    }
  });
});

describe("main", () => {
  it("seed hashes, prints a share link and QR code, writes a .torrent, seeds until Ctrl-C", async () => {
    const stop = new AbortController();
    const t = io(stop.signal);
    const torrentOut = join(dir, "numbers.torrent");
    // Nothing listens on this port: the tracker client keeps retrying while we seed.
    const running = main(["seed", join(fixtures, "numbers"), "--piece-length", "16KiB", "--tracker", "ws://127.0.0.1:9", "--torrent-out", torrentOut], t);
    await waitFor(() => t.out().includes("▄"));
    stop.abort();
    expect(await running).toBe(ExitCode.interrupted);
    expect(t.err()).toMatch(/stopped/);
    const linkLine = t.out().split("\n").find((l) => l.includes("http://127.0.0.1:9/#magnet:"))!;
    const link = parseShareFragment(linkLine.trim());
    expect(link.infoHash).toBe("89d97c2261a21b040cf11caa661a3ba7233bb7e6");
    expect(link.trackers).toEqual(["ws://127.0.0.1:9"]);
    expect(link.displayName).toBe("numbers");
    const written = await parseTorrentFile(new Uint8Array(await readFile(torrentOut)));
    expect(written.info.infoHash).toBe(link.infoHash);
    expect(written.announce).toEqual(["ws://127.0.0.1:9"]);

    // Second run with --resume: no hashing, same link.
    const stopAgain = new AbortController();
    const again = io(stopAgain.signal);
    const second = main(["seed", join(fixtures, "numbers"), "--resume", "--no-qr", "--tracker", "ws://127.0.0.1:9"], again);
    await waitFor(() => again.out().includes("Magnet link"));
    stopAgain.abort();
    expect(await second).toBe(ExitCode.interrupted);
    expect(again.err()).toMatch(/skipping hashing/);
    expect(again.err()).not.toMatch(/hashing \[/);
    expect(again.out()).toContain(linkLine.trim());
    expect(again.out()).not.toContain("▄");
  });

  it("get with a .torrent checks what is already on disk", async () => {
    const out = join(dir, "dl");
    await mkdir(out);
    await writeFile(join(out, "alice.txt"), await readFile(join(fixtures, "alice.txt")));
    const t = io();
    expect(await main(["get", join(fixtures, "alice.torrent"), "--out", out], t)).toBe(ExitCode.ok);
    expect(t.err()).toMatch(/10 of 10 pieces already in/);
    expect(t.err()).toMatch(/download already complete/);

    const stop = new AbortController();
    const partial = io(stop.signal);
    const running = main(["get", join(fixtures, "leaves.torrent"), "--out", out, "--tracker", "ws://127.0.0.1:9"], partial);
    await waitFor(() => partial.err().includes("pieces already in"));
    stop.abort();
    expect(await running).toBe(ExitCode.interrupted);
    expect(partial.err()).toMatch(/0 of 23 pieces/);
  });

  const failures: [label: string, argv: () => string[], code: number, message: RegExp][] = [
    ["a usage error", () => ["seed"], ExitCode.usage, /at least one file/],
    ["a malformed magnet", () => ["get", "magnet:?dn=x"], ExitCode.badLink, /bad link: .*no infohash/],
    ["a bad base32 hash", () => ["get", "magnet:?xt=urn:btih:QHQXPYWMACKDWKP47RRVIV7VOURXFE51"], ExitCode.badLink, /not valid base32/],
    ["a corrupt .torrent", () => ["get", join(fixtures, "corrupt.torrent")], ExitCode.badLink, /not a usable \.torrent file: .*no name/],
    ["a missing .torrent", () => ["get", join(dir, "nope.torrent")], ExitCode.badLink, /cannot read .*no such file/],
    ["something that is no link", () => ["get", "hello"], ExitCode.badLink, /not a share link/],
    ["a missing path to seed", () => ["seed", join(dir, "nothing-here")], ExitCode.unreadablePath, /cannot read .*no such file/],
    ["a download folder that is a file", () => ["get", join(fixtures, "numbers.torrent"), "--out", join(fixtures, "alice.txt")], ExitCode.storage, /cannot open .*numbers.*(a part of the path is not a folder|no such file)/],
  ];
  for (const [label, argv, code, message] of failures) {
    it(`exits ${code} on ${label}`, async () => {
      const t = io();
      expect(await main(argv(), t)).toBe(code);
      expect(t.err()).toMatch(message);
    });
  }

  it("stops cleanly with exit code 130 when interrupted while hashing", async () => {
    const controller = new AbortController();
    controller.abort();
    const t = io(controller.signal);
    expect(await main(["seed", join(fixtures, "alice.txt"), "--no-qr"], t)).toBe(ExitCode.interrupted);
    expect(t.err()).toMatch(/stopped/);
  });

  it("prints help and version", async () => {
    const t = io();
    expect(await main(["--help"], t)).toBe(ExitCode.ok);
    expect(t.out()).toMatch(/swarmdrop seed <paths\.\.\.>/);
    const v = io();
    expect(await main(["--version"], v)).toBe(ExitCode.ok);
    expect(v.out()).toMatch(/^swarmdrop \d+\.\d+\.\d+/);
  });
});
