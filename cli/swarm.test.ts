// Two headless peers in one process, each a real TorrentSession over real
// @roamhq/wrtc data channels, finding each other through the reference
// WebSocket tracker on loopback: a seeder serving files in place from disk and
// a downloader joining from the magnet link alone (BEP 9 metadata), or from a
// .torrent with part of the data already on disk.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sha256Hex, toHex } from "../core/bytes.ts";
import { infoHashFromHex, makePeerId, peerIdFromHex } from "../core/ids.ts";
import type { SessionSnapshot } from "../core/engine/session-types.ts";
import { TorrentSession } from "../core/engine/session.ts";
import { seededRandom } from "../core/random.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import { InterruptedError } from "./errors.ts";
import { FileStore } from "./file-store.ts";
import { createNodePeer, createNodeSocket } from "./node-peer.ts";
import { haveReferenceTracker, startReferenceTracker, wrtcLoads, type RunningReferenceTracker } from "./test-reference-tracker.ts";
import { collectSources, hashSources } from "./source-files.ts";
import { clientFromPeerId, runSwarmWith, statusLine, type SwarmDeps, type SwarmRunInit } from "./swarm.ts";
import { main } from "./main.ts";
import { ExitCode } from "./args.ts";

// Locally a missing reference tracker or wrtc skips these tests; under CI it is an error.
if ((!haveReferenceTracker || !wrtcLoads) && process.env["CI"]) throw new Error("these tests need @roamhq/wrtc and .reference/ (scripts/install-reference.sh)");

const deps = (seed: number): SwarmDeps => {
  const rng = seededRandom(seed);
  return {
    createSession: (init, components) => new TorrentSession(init, components),
    createSocket: createNodeSocket,
    createPeer: ({ initiator }) => createNodePeer({ initiator }),
    randomBytes: (n) => rng.bytes(n),
    nowMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    tickIntervalMs: 50,
    pollIntervalMs: 5,
    statusIntervalMs: 60_000,
  };
};

describe.skipIf(!haveReferenceTracker || !wrtcLoads)("headless peers swarm over wrtc (loopback)", () => {
  let referenceTracker: RunningReferenceTracker | undefined;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    referenceTracker = await startReferenceTracker();
    url = referenceTracker.url;
  });
  afterAll(async () => {
    await referenceTracker?.close();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "swarmdrop-swarm-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function makeShare(): Promise<{ root: string; files: Map<string, Uint8Array> }> {
    const rng = seededRandom(77);
    const root = join(dir, "share");
    const files = new Map<string, Uint8Array>([
      ["a.bin", rng.bytes(700_000)],
      ["sub/b.txt", rng.bytes(33)],
      ["sub/empty", new Uint8Array(0)],
      ["z.bin", rng.bytes(300_000)],
    ]);
    for (const [path, data] of files) {
      await mkdir(join(root, path, ".."), { recursive: true });
      await writeFile(join(root, path), data);
    }
    return { root, files };
  }

  it("downloads a folder from a seeder given only the magnet link", async () => {
    const { root, files } = await makeShare();
    const sources = await collectSources([root]);
    const info = await hashSources(sources, { pieceLength: 64 * 1024 });
    const seedStop = new AbortController();
    const seedStore = FileStore.forSeed(info, sources.files.map((f) => f.absPath));
    const log: string[] = [];
    const base = { trackers: [url], log: (l: string) => log.push(l), maxPeers: 5 } as const;
    const seeding = runSwarmWith(
      {
        ...base,
        mode: "seed",
        infoHash: info.infoHash,
        info,
        store: seedStore,
        verified: Bitfield.full(info.pieceCount),
        seedAfterDownload: true,
        signal: seedStop.signal,
      },
      deps(1),
    );
    await new Promise((r) => setTimeout(r, 300));
    const out = join(dir, "out");
    let store: FileStore | null = null;
    const saved: number[] = [];
    const download: SwarmRunInit = {
      ...base,
      mode: "download",
      infoHash: info.infoHash,
      info: null,
      store: null,
      storeFor: async (got) => {
        store = FileStore.forDownload(got, out);
        await store.prepare();
        return store;
      },
      verified: null,
      seedAfterDownload: false,
      signal: new AbortController().signal,
      saveProgress: async (_info, _store, verified) => {
        saved.push(verified.count);
      },
    };
    try {
      const result = await runSwarmWith(download, deps(2));
            expect(result.verified?.complete).toBe(true);
      expect(result.downloadedBytes).toBeGreaterThanOrEqual(info.totalLength);
      expect(saved.at(-1)).toBe(info.pieceCount);
      for (const [path, data] of files) expect(await sha256Hex(await readFile(join(out, "share", path)))).toBe(await sha256Hex(data));
    } finally {
      await (store as FileStore | null)?.close();
      seedStop.abort();
      await expect(seeding).rejects.toThrow(InterruptedError);
      await seedStore.close();
    }
  }, 60_000);

  it("a super-seeding seeder (seed --super-seed) still delivers every byte", async () => {
    const { root, files } = await makeShare();
    const sources = await collectSources([root]);
    const info = await hashSources(sources, { pieceLength: 64 * 1024 });
    const seedStop = new AbortController();
    const seedStore = FileStore.forSeed(info, sources.files.map((f) => f.absPath));
    const base = { trackers: [url], log: () => undefined, maxPeers: 5 } as const;
    const seedSettings: unknown[] = [];
    const seedDeps = deps(3);
    const seeding = runSwarmWith(
      {
        ...base,
        mode: "seed",
        infoHash: info.infoHash,
        info,
        store: seedStore,
        verified: Bitfield.full(info.pieceCount),
        seedAfterDownload: true,
        signal: seedStop.signal,
        settings: { superSeeding: "auto" },
      },
      {
        ...seedDeps,
        createSession: (init, components) => {
          seedSettings.push(init.settings);
          return seedDeps.createSession(init, components);
        },
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    const out = join(dir, "out");
    let store: FileStore | null = null;
    try {
      const result = await runSwarmWith(
        {
          ...base,
          mode: "download",
          infoHash: info.infoHash,
          info: null,
          store: null,
          storeFor: async (got) => {
            store = FileStore.forDownload(got, out);
            await store.prepare();
            return store;
          },
          verified: null,
          seedAfterDownload: false,
          signal: new AbortController().signal,
        },
        deps(4),
      );
      expect(seedSettings).toEqual([{ superSeeding: "auto" }]);
      expect(result.verified?.complete).toBe(true);
      for (const [path, data] of files) expect(await sha256Hex(await readFile(join(out, "share", path)))).toBe(await sha256Hex(data));
    } finally {
      await (store as FileStore | null)?.close();
      seedStop.abort();
      await expect(seeding).rejects.toThrow(InterruptedError);
      await seedStore.close();
    }
  }, 60_000);

  it("resumes a .torrent download with part of the data already on disk", async () => {
    const { root, files } = await makeShare();
    const sources = await collectSources([root]);
    const info = await hashSources(sources, { pieceLength: 64 * 1024 });
    // The downloader already has a.bin (the first 10 whole pieces and part of the 11th).
    const out = join(dir, "out");
    await mkdir(join(out, "share"), { recursive: true });
    await writeFile(join(out, "share", "a.bin"), files.get("a.bin")!);
    const store = FileStore.forDownload(info, out);
    await store.prepare();
    const verified = await store.scan();
    expect(verified.count).toBe(Math.floor(700_000 / (64 * 1024)));

    const seedStop = new AbortController();
    const seedStore = FileStore.forSeed(info, sources.files.map((f) => f.absPath));
    const base = { trackers: [url], log: () => undefined, maxPeers: 5 } as const;
    const seeding = runSwarmWith(
      { ...base, mode: "seed", infoHash: info.infoHash, info, store: seedStore, verified: Bitfield.full(info.pieceCount), seedAfterDownload: true, signal: seedStop.signal },
      deps(3),
    );
    try {
      const result = await runSwarmWith(
        { ...base, mode: "download", infoHash: info.infoHash, info, store, verified, seedAfterDownload: false, signal: new AbortController().signal },
        deps(4),
      );
      expect(result.verified?.complete).toBe(true);
      // Only the missing part travelled.
      expect(result.downloadedBytes).toBeLessThan(info.totalLength - 600_000);
      for (const [path, data] of files) expect(await sha256Hex(await readFile(join(out, "share", path)))).toBe(await sha256Hex(data));
    } finally {
      await store.close();
      seedStop.abort();
      await expect(seeding).rejects.toThrow(InterruptedError);
      await seedStore.close();
    }
  }, 60_000);

  it("swarmdrop seed and swarmdrop get (the commands) share a file end to end", async () => {
    const fixtures = resolve(import.meta.dirname, "..", "node_modules", "webtorrent-fixtures", "fixtures");
    const streams = (signal: AbortSignal) => {
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
    };
    const stopSeed = new AbortController();
    const seedIo = streams(stopSeed.signal);
    const seeding = main(["seed", join(fixtures, "alice.txt"), "--tracker", url, "--no-qr"], seedIo);
    const start = performance.now();
    while (!seedIo.out().includes("#magnet:")) {
      if (performance.now() - start > 20_000) throw new Error(`no share link: ${seedIo.err()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const shareLink = seedIo.out().split("\n").map((l) => l.trim()).find((l) => l.startsWith("http://"))!;
    const out = join(dir, "downloads");
    const getIo = streams(new AbortController().signal);
    try {
      expect(await main(["get", shareLink, "--out", out], getIo)).toBe(ExitCode.ok);
      expect(getIo.err()).toMatch(/download complete/);
      expect(getIo.err()).toContain(`saved in ${join(out, "alice.txt")}`);
      expect(getIo.err()).toMatch(/peer joined: SD0100/);
      // The same link again: the saved state knows the torrent and its pieces, nothing to fetch.
      const againIo = streams(new AbortController().signal);
      expect(await main(["get", shareLink, "--out", out], againIo)).toBe(ExitCode.ok);
      expect(againIo.err()).toMatch(/10 of 10 pieces already in/);
      expect(againIo.err()).toMatch(/download already complete/);
      expect(againIo.err()).not.toMatch(/peer joined/);
      expect(await sha256Hex(await readFile(join(out, "alice.txt")))).toBe(await sha256Hex(await readFile(join(fixtures, "alice.txt"))));
    } finally {
      stopSeed.abort();
      expect(await seeding).toBe(ExitCode.interrupted);
    }
  }, 60_000);
});

describe("clientFromPeerId", () => {
  it("names Azureus-style clients and falls back to the id", () => {
    expect(clientFromPeerId(makePeerId(() => new Uint8Array(12)))).toBe("SD0100");
    expect(clientFromPeerId(peerIdFromHex(toHex(new TextEncoder().encode("-WW0208-abcdefghijkl"))))).toBe("WW0208");
    expect(clientFromPeerId(peerIdFromHex("ff".repeat(20)))).toBe("peer ffffffffffff");
  });
});

describe("statusLine", () => {
  const snapshot = (over: Partial<SessionSnapshot>): SessionSnapshot => ({
    infoHash: infoHashFromHex("00".repeat(20)),
    hasMetadata: true,
    pieceCount: 4,
    verifiedCount: 2,
    pieceStates: new Uint8Array(4),
    availability: new Uint16Array(4),
    totalBytes: 4096,
    verifiedBytes: 2048,
    downloadedBytes: 2048,
    uploadedBytes: 0,
    downloadRateBytesPerS: 1536,
    uploadRateBytesPerS: 0,
    peers: [],
    complete: false,
    paused: false,
    bannedPeerCount: 0,
    unavailablePieceCount: 0,
    unavailableBytes: 0,
    lostPieceCount: 0,
    ...over,
  });
  it("shows progress, rates and peers, or that metadata is being fetched", () => {
    expect(statusLine(snapshot({}), "download")).toBe("downloading [############------------]  50%  2.00 KiB of 4.00 KiB  down 1.50 KiB/s  up 0 B/s  0 peers");
    expect(statusLine(snapshot({ complete: true, verifiedBytes: 4096 }), "download")).toMatch(/^seeding .* 100%/);
    expect(statusLine(snapshot({ hasMetadata: false }), "download")).toBe("fetching the torrent's metadata from peers  0 peers");
  });
});
