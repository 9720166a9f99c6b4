// TransferManager with the real TorrentSession and the piece store over an
// in-memory key-value store (Node has no IndexedDB or WebRTC: transfers
// between browsers are proven in Chromium by e2e/transfer.spec.ts). No
// trackers here, so no network.
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { TorrentSession } from "../../core/engine/session.ts";
import { encodeTorrentFile, createTorrentFromBytes } from "../../core/metainfo.ts";
import { memoryKv, type Kv } from "../adapters/piece-store.ts";
import type { WebSocketLike } from "../adapters/tracker-client.ts";
import { inThreadRunner } from "./hashing.ts";
import { storageFault, SwarmTransferManager, type SwarmPeer } from "./manager.ts";
import { StorageFullError, type SessionEvent } from "../../core/engine/session-types.ts";
import type { StreamingHost } from "./stream-host.ts";
import type { TransferView } from "./types.ts";

const managers: SwarmTransferManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.close();
});

/** Upload limits each real session was given, by infohash, in order. */
type LimitLog = Map<string, (number | null)[]>;

/** Playheads each real session was given, in order. */
type PlayheadLog = ({ readonly fileIndex: number; readonly byteOffset: number } | null)[];

function manager(
  kv: Kv,
  trackers: string[] = [],
  limits: LimitLog = new Map(),
  extra: { playheads?: PlayheadLog; priorities?: string[]; streaming?: StreamingHost; listeners?: ((event: SessionEvent) => void)[] } = {},
): SwarmTransferManager {
  const m = new SwarmTransferManager(
    { origin: "http://localhost:8000", defaultTrackers: trackers, unsupportedReason: null, tickIntervalMs: 50, projectionIntervalMs: 50 },
    {
      createSession: (init, components) => {
        const session = new TorrentSession(init, components);
        const apply = session.setUploadLimit.bind(session);
        session.setUploadLimit = (bytesPerS) => {
          limits.set(init.infoHash, [...(limits.get(init.infoHash) ?? []), bytesPerS]);
          apply(bytesPerS);
        };
        const setFilePriority = session.setFilePriority.bind(session);
        session.setFilePriority = (fileIndex, priority) => {
          extra.priorities?.push(`${fileIndex} ${priority}`);
          setFilePriority(fileIndex, priority);
        };
        const subscribe = session.subscribe.bind(session);
        session.subscribe = (listener) => {
          extra.listeners?.push(listener);
          return subscribe(listener);
        };
        const setPlayhead = session.setPlayhead.bind(session);
        session.setPlayhead = (position) => {
          extra.playheads?.push(position);
          setPlayhead(position);
        };
        return session;
      },
      kv,
      createSocket: (): WebSocketLike => {
        throw new Error("no network in this test");
      },
      createPeer: (): SwarmPeer => {
        throw new Error("no WebRTC in this test");
      },
      nowMs: () => Date.now(),
      monotonicMs: () => performance.now(),
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      hashRunner: inThreadRunner,
      ...(extra.streaming === undefined ? {} : { streaming: extra.streaming }),
    },
  );
  managers.push(m);
  return m;
}

function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const fileOf = (data: Uint8Array<ArrayBuffer>, name: string): File => new File([data], name);

async function viewOf(m: SwarmTransferManager, infoHash: string, until: (v: TransferView) => boolean = () => true): Promise<TransferView> {
  const start = Date.now();
  for (;;) {
    const v = m.views().find((x) => x.infoHash === infoHash);
    if (v !== undefined && until(v)) return v;
    if (Date.now() - start > 10_000) throw new Error(`timed out; last view: ${JSON.stringify(v && { status: v.status, message: v.message, stored: v.storedBytes })}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function blobBytes(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe("SwarmTransferManager", () => {
  const a = bytes(100_000, 1);
  const b = bytes(33_333, 2);
  const folder = () => [
    { file: fileOf(b, "b.txt"), path: "Trip/notes/b.txt" },
    { file: fileOf(a, "a.bin"), path: "Trip/a.bin" },
  ];

  it("shares a folder: seeding view, share link, files, saved bytes and zip identical to the originals", async () => {
    const m = manager(memoryKv(), ["ws://localhost:8000/announce"]);
    const seen: (readonly TransferView[])[] = [];
    m.subscribe((list) => seen.push(list));
    const infoHash = await m.share(folder());
    const v = await viewOf(m, infoHash, (x) => x.status === "seeding");
    expect(v.name).toBe("Trip");
    expect(v.totalBytes).toBe(133_333);
    expect(v.verifiedBytes).toBe(133_333);
    expect(v.shareLink).toBe(`http://localhost:8000/#magnet:?xt=urn:btih:${infoHash}&dn=Trip&tr=ws%3A%2F%2Flocalhost%3A8000%2Fannounce`);
    expect(v.files.map((f) => [f.path, f.lengthBytes, f.complete])).toEqual([
      ["Trip/a.bin", 100_000, true],
      ["Trip/notes/b.txt", 33_333, true],
    ]);
    expect(v.etaS).toBeNull();
    // While hashing, the UI was shown a "hashing" entry named like the share.
    expect(seen.some((list) => list.some((x) => x.status === "hashing" && x.name === "Trip"))).toBe(true);

    expect(await blobBytes(await m.fileBlob(infoHash, 1))).toEqual(b);
    const zip = Buffer.from(await readAll(m.zipStream(infoHash)));
    // client-zip stores files uncompressed: each file's bytes appear whole, after its name.
    expect(zip.indexOf(Buffer.from(a))).toBeGreaterThan(zip.indexOf(Buffer.from("Trip/a.bin")));
    expect(zip.indexOf(Buffer.from(b))).toBeGreaterThan(zip.indexOf(Buffer.from("Trip/notes/b.txt")));
  });

  it("keeps seeding after a reload from the copy in storage, without re-hashing", async () => {
    const kv = memoryKv();
    const first = manager(kv);
    const infoHash = await first.share(folder());
    await viewOf(first, infoHash, (x) => x.storedBytes === 133_333);
    first.close();

    const reloaded = manager(kv);
    await reloaded.ready;
    const v = await viewOf(reloaded, infoHash);
    expect(v.status).toBe("seeding");
    expect(v.verifiedBytes).toBe(133_333);
    expect(await blobBytes(await reloaded.fileBlob(infoHash, 0))).toEqual(a);
  });

  it("when storage is full, a share still seeds from the files and says it will not survive a reload", async () => {
    const m = manager(memoryKv(40_000));
    const infoHash = await m.share([{ file: fileOf(a, "a.bin"), path: "a.bin" }]);
    const v = await viewOf(m, infoHash, (x) => x.message !== null);
    expect(v.status).toBe("seeding");
    expect(v.message).toMatch(/storage is full/);
    expect(v.storedBytes).toBeLessThan(100_000);
    expect(await blobBytes(await m.fileBlob(infoHash, 0))).toEqual(a);
  });

  it("opens a magnet link into fetching-metadata and refuses broken links with a clear error", async () => {
    const m = manager(memoryKv(), ["ws://localhost:8000/announce"]);
    const hash = "c9e15763f722f23e98a29decdfae341b98d53056";
    const infoHash = await m.open({ link: `http://localhost:8000/#magnet:?xt=urn:btih:${hash}&dn=Cosmos&tr=wss%3A%2F%2Fother.example%2Fannounce&tr=udp%3A%2F%2Fx%3A1` });
    expect(infoHash).toBe(hash);
    const v = await viewOf(m, infoHash);
    expect(v.status).toBe("fetching-metadata");
    expect(v.name).toBe("Cosmos");
    // Our tracker and the link's WebSocket tracker; UDP trackers are useless in a browser.
    expect(v.trackers.map((t) => t.url)).toEqual(["ws://localhost:8000/announce", "wss://other.example/announce"]);
    await expect(m.fileBlob(infoHash, 0)).rejects.toThrow(/fetching its file list/);

    await expect(m.open({ link: "http://localhost:8000/#magnet:?xt=urn:btih:1234" })).rejects.toThrow(/infohash is 40 characters, got 4/);
    await expect(m.open({ link: "hello" })).rejects.toThrow(/not a SwarmDrop link/);
    expect(m.views()).toHaveLength(1);
  });

  it("opens a .torrent file with its file list, and refuses a broken one", async () => {
    const m = manager(memoryKv());
    const info = await createTorrentFromBytes("pics", [{ path: ["x.png"], data: bytes(5000, 3) }, { path: ["y.png"], data: bytes(7000, 4) }]);
    const torrent = encodeTorrentFile(info, { announce: ["wss://tracker.example/announce"] });
    const infoHash = await m.open({ torrentFile: new File([torrent as Uint8Array<ArrayBuffer>], "pics.torrent") });
    const v = await viewOf(m, infoHash);
    expect(v.status).toBe("connecting");
    expect(v.files.map((f) => f.path)).toEqual(["pics/x.png", "pics/y.png"]);
    expect(v.verifiedBytes).toBe(0);
    await expect(m.fileBlob(infoHash, 0)).rejects.toThrow(/not complete yet/);

    const broken = torrent.slice(0, torrent.length - 10);
    await expect(m.open({ torrentFile: new File([broken], "broken.torrent") })).rejects.toThrow(/broken.torrent.*not a valid .torrent file/);
  });

  it("on load, a transfer whose stored torrent data is damaged shows an error and the others resume", async () => {
    const kv = memoryKv();
    const first = manager(kv);
    const good = await first.share([{ file: fileOf(b, "b.txt"), path: "b.txt" }]);
    await viewOf(first, good, (x) => x.storedBytes === 33_333);
    const info = await createTorrentFromBytes("bad", [{ path: ["bad"], data: bytes(1000, 8) }]);
    // The record of a second transfer whose info dict bytes were damaged on disk.
    const broken = info.infoBytes.slice();
    broken[10] = broken[10]! ^ 0xff;
    await kv.set(`transfer:${info.infoHash}`, { infoHash: info.infoHash, name: "bad", infoBytes: broken, trackers: [], addedAtMs: 1, paused: false });
    first.close();

    const reloaded = manager(kv);
    await reloaded.ready;
    expect((await viewOf(reloaded, good)).status).toBe("seeding");
    const bad = await viewOf(reloaded, info.infoHash);
    expect(bad.status).toBe("error");
    expect(bad.message).toMatch(/stored torrent data is damaged/);
  });

  it("applies the upload limit to every running transfer and to those started later, and refuses a bad one", async () => {
    const limits: LimitLog = new Map();
    const m = manager(memoryKv(), [], limits);
    const first = await m.share([{ file: fileOf(b, "b.txt"), path: "b.txt" }]);
    expect(limits.get(first)).toBeUndefined();
    m.setUploadLimit(256 * 1024);
    expect(limits.get(first)).toEqual([262_144]);
    const info = await createTorrentFromBytes("later", [{ path: ["later.bin"], data: bytes(5000, 9) }]);
    const later = await m.open({ torrentFile: new File([encodeTorrentFile(info, { announce: [] }) as Uint8Array<ArrayBuffer>], "later.torrent") });
    expect(limits.get(later)).toEqual([262_144]);
    m.setUploadLimit(null);
    expect(limits.get(first)).toEqual([262_144, null]);
    expect(limits.get(later)).toEqual([262_144, null]);
    expect(() => m.setUploadLimit(-1)).toThrow(RangeError);
    expect(() => m.setUploadLimit(Number.NaN)).toThrow(RangeError);
    expect(limits.get(first)).toEqual([262_144, null]);
  });

  it("a session's note that stored pieces could not be read back (not paused) is not shown as a failed save", async () => {
    const listeners: ((event: SessionEvent) => void)[] = [];
    const m = manager(memoryKv(), [], new Map(), { listeners });
    const infoHash = await m.share([{ file: fileOf(b, "b.txt"), path: "b.txt" }]);
    await viewOf(m, infoHash, (x) => x.status === "seeding");
    for (const l of listeners) l({ type: "storage-error", message: "2 pieces of “b.txt” are no longer in storage (gone); they are marked missing and will be downloaded again from peers", paused: false });
    const v = await viewOf(m, infoHash);
    expect(v.status).toBe("seeding");
    expect(v.message).toBeNull();
    expect(v.fault).toBeUndefined();
    // The lost pieces are counted by the session's snapshot; nothing was lost here.
    expect(v.lostPieceCount).toBe(0);
    expect(v.unavailablePieceCount).toBe(0);
  });

  it("pauses, resumes and removes a transfer with everything it stored", async () => {
    const kv = memoryKv();
    const m = manager(kv);
    const infoHash = await m.share([{ file: fileOf(b, "b.txt"), path: "b.txt" }]);
    await viewOf(m, infoHash, (x) => x.storedBytes === 33_333);
    m.pause(infoHash);
    expect((await viewOf(m, infoHash)).status).toBe("paused");
    m.resume(infoHash);
    expect((await viewOf(m, infoHash)).status).toBe("seeding");
    await m.remove(infoHash);
    expect(m.views()).toEqual([]);
    expect(await kv.keysWithPrefix("")).toEqual([]);
  });
});

describe("SwarmTransferManager streaming", () => {
  const a = bytes(100_000, 11);
  const streamsHere: StreamingHost = { ready: Promise.resolve(null) };
  /** Lets pending promise callbacks run (no waiting on the clock). */
  const settled = () => new Promise((r) => setTimeout(r, 0));

  async function collect(chunks: AsyncGenerator<Uint8Array>): Promise<{ bytes: Uint8Array; sizes: number[] }> {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) parts.push(c);
    return { bytes: new Uint8Array(Buffer.concat(parts)), sizes: parts.map((p) => p.length) };
  }

  async function openTorrent(m: SwarmTransferManager, name: string, data: Uint8Array): Promise<string> {
    const info = await createTorrentFromBytes(name, [{ path: [name], data }]);
    return m.open({ torrentFile: new File([encodeTorrentFile(info, { announce: [] }) as Uint8Array<ArrayBuffer>], `${name}.torrent`) });
  }

  it("gives players a /stream/ URL where a Service Worker serves them, and reads any byte range in chunks of at most a piece", async () => {
    const m = manager(memoryKv(), [], new Map(), { streaming: streamsHere });
    const infoHash = await m.share([{ file: fileOf(a, "song.mp3"), path: "song.mp3" }]);
    expect(await m.streamingSupport()).toBeNull();
    expect(await m.streamUrl(infoHash, 0)).toBe(`/stream/${infoHash}/0/song.mp3`);
    expect(m.streamFile(infoHash, 0)).toEqual({ lengthBytes: 100_000, name: "song.mp3", mime: "audio/mpeg" });
    expect((await viewOf(m, infoHash)).files[0]?.streamable).toBe(true);

    const read = await collect(m.readFileRange(infoHash, 0, 1_000, 70_001, new AbortController().signal));
    expect(read.bytes).toEqual(a.slice(1_000, 70_001));
    expect(Math.max(...read.sizes)).toBeLessThanOrEqual(16 * 1024);
    expect((await collect(m.readFileRange(infoHash, 0, 99_999, 100_000, new AbortController().signal))).bytes).toEqual(a.slice(99_999));
    expect(() => m.streamFile("0".repeat(40), 0)).toThrow(expect.objectContaining({ name: "TransferNotFoundError" }));
    await expect(m.readFileRange(infoHash, 0, 5, 100_001, new AbortController().signal).next()).rejects.toThrow(/outside “song.mp3”/);
  });

  it("without a Service Worker says why, and plays a complete file from a blob: URL", async () => {
    const m = manager(memoryKv());
    const infoHash = await m.share([{ file: fileOf(a, "song.mp3"), path: "song.mp3" }]);
    expect(await m.streamingSupport()).toMatch(/no stream helper/);
    expect(await m.streamUrl(infoHash, 0)).toMatch(/^blob:/);
  });

  it("waits for a missing piece with the playhead on it; the newest read holds the playhead; abort and remove end the wait", async () => {
    const playheads: PlayheadLog = [];
    const priorities: string[] = [];
    const m = manager(memoryKv(), [], new Map(), { playheads, priorities, streaming: streamsHere });
    const infoHash = await openTorrent(m, "clip.webm", a);

    const first = m.readFileRange(infoHash, 0, 0, 100_000, new AbortController().signal);
    const firstChunk = first.next();
    await settled();
    expect(playheads.at(-1)).toEqual({ fileIndex: 0, byteOffset: 0 });
    // The file being played comes first; the person's own choice is kept for afterwards.
    expect(priorities).toEqual(["0 high"]);
    m.setFilePriority(infoHash, 0, "skip");
    expect(priorities).toEqual(["0 high"]);

    // A seek: a newer read further on takes the playhead.
    const seek = new AbortController();
    const second = m.readFileRange(infoHash, 0, 60_000, 100_000, seek.signal);
    const secondChunk = second.next();
    await settled();
    expect(playheads.at(-1)).toEqual({ fileIndex: 0, byteOffset: 60_000 });

    // The player drops that request: the wait ends and the playhead returns to the read still open.
    seek.abort(new DOMException("gone", "AbortError"));
    await expect(secondChunk).rejects.toMatchObject({ name: "AbortError" });
    expect(playheads.at(-1)).toEqual({ fileIndex: 0, byteOffset: 0 });

    // The same file shared here: the waiting read gets its bytes.
    await m.share([{ file: fileOf(a, "clip.webm"), path: "clip.webm" }]);
    const got = await firstChunk;
    expect(got.done).toBe(false);
    expect(got.value).toEqual(a.slice(0, got.value?.length ?? 0));
    await first.return(undefined);
    expect(priorities.at(-1)).toBe("0 skip");

    // Removing a transfer while its player waits ends the read with a clear error.
    const other = await openTorrent(m, "other.webm", bytes(50_000, 12));
    const waiting = m.readFileRange(other, 0, 0, 50_000, new AbortController().signal).next();
    await settled();
    await m.remove(other);
    await expect(waiting).rejects.toThrow(/“other.webm” was removed while playing/);
  });
});

describe("storageFault", () => {
  it("words a full store as full, keeping the session's account of what is kept", () => {
    const full = new StorageFullError("3.6 MiB of this transfer are kept in browser storage; free some space and resume");
    expect(storageFault(full, `storage is full: ${full.message}`)).toEqual({ kind: "storage-full", message: `storage is full: ${full.message}` });
    const quota = new DOMException("The quota has been exceeded.", "QuotaExceededError");
    expect(storageFault(quota, `storing piece 3 failed: ${String(quota)}`).kind).toBe("storage-full");
  });

  it("says any other failure is a storage failure with the browser's reason and that Resume retries, never that space is short", () => {
    const closed = new DOMException("The connection was closed.", "AbortError");
    const f = storageFault(closed, `storing piece 7 failed: ${String(closed)}`);
    expect(f.kind).toBe("storage-failed");
    expect(f.message).toBe("saving a downloaded piece in browser storage failed (AbortError: The connection was closed). Press Resume to try again");
    expect(f.message).not.toMatch(/full|space|kept|nothing is lost/i);
    // Without the thrown error, the session's own text decides.
    expect(storageFault(undefined, "storing piece 7 failed: AbortError: The connection was closed.")).toEqual(f);
    expect(storageFault(undefined, "storage is full: browser storage is full").kind).toBe("storage-full");
  });
});
