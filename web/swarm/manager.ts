// The swarm side of the browser app: TransferManager (web/swarm/types.ts).
// Per transfer it runs one core TorrentSession (real-time clock, random seeded
// from crypto.getRandomValues, ticked every 200 ms), one tracker client per
// tracker URL (all transfers share one WebSocket per URL: socket-pool.ts),
// one PeerTransport holding that transfer's data channels (one channel per
// remote peer), and
// its piece store (IndexedDB; for a share made on this page, the dropped files
// themselves, copied into IndexedDB in the background so a reload keeps
// seeding). The UI reads a projection built from session snapshots about
// 4 times a second.
//
// Playing while downloading: streamUrl() gives a /stream/<infohash>/<file>/<name>
// URL, answered by our Service Worker (web/sw/stream-worker.ts) with HTTP Range
// semantics; it asks this page for the bytes (web/swarm/stream-host.ts), and
// readFileRange() reads verified pieces from storage or, for a missing one,
// moves the session's playhead to it (the picker then fetches just ahead of it
// in order; the file being played is picked first, at high priority, while a
// request for it is open) and waits for it to verify. The newest open request
// holds the playhead, so it follows the player's seeks. Where no Service Worker can run
// (not a secure context, registration refused), streamUrl() falls back to a
// blob: URL once the whole file is verified, and streamingSupport() says why.
import { makeZip } from "client-zip";
import type {
  ConnectionId,
  FilePriority,
  PieceStore,
  SessionComponents,
  SessionEvent,
  SessionInit,
  SessionSnapshot,
  TorrentSessionApi,
} from "../../core/engine/session-types.ts";
import { PieceState, StorageFullError } from "../../core/engine/session-types.ts";
import { toHex } from "../../core/bytes.ts";
import { makePeerId, pieceIndex, type InfoHash, type PeerId, type PieceIndex } from "../../core/ids.ts";
import { fileRangePieces, filePieceRange } from "../../core/layout.ts";
import { formatMagnet, parseShareFragment } from "../../core/magnet.ts";
import { infoFromBytes, parseTorrentFile, pieceSize, type TorrentInfo } from "../../core/metainfo.ts";
import { seededRandom } from "../../core/random.ts";
import type { DataPeer } from "../adapters/peer-transport.ts";
import { PeerTransport } from "../adapters/peer-transport.ts";
import { estimateStorage, isQuotaError, StoredPieceStore, TransferDb, type Kv, type TransferRecord } from "../adapters/piece-store.ts";
import { TrackerSocketPool } from "../adapters/socket-pool.ts";
import { TrackerClient, TrackerUrlError, type SignalingPeer, type WebSocketLike } from "../adapters/tracker-client.ts";
import { hashFiles, planTorrent, windowPieces, type HashRunner } from "./hashing.ts";
import { reannouncePolicy, shouldReannounce } from "./reannounce.ts";
import { BlobPieceStore } from "./seed-store.ts";
import { mediaKind, mimeType, streamPath } from "../sw/http-range.ts";
import { noStreaming, type StreamingHost } from "./stream-host.ts";
import type { FileView, SpeedSample, StorageUsage, TrackerView, TransferManager, TransferStatus, TransferView } from "./types.ts";

export type SwarmPeer = SignalingPeer & DataPeer;

export interface ManagerComponents {
  createSession(init: SessionInit, components: SessionComponents): TorrentSessionApi;
  readonly kv: Kv;
  createSocket(url: string): WebSocketLike;
  /** A new non-trickle WebRTC peer (simple-peer). */
  createPeer(options: { readonly initiator: boolean }): SwarmPeer;
  /** Epoch milliseconds (shown to users: retry times, speed samples). */
  nowMs(): number;
  /** Monotonic milliseconds for the engine. */
  monotonicMs(): number;
  randomBytes(n: number): Uint8Array;
  readonly hashRunner?: HashRunner;
  /** Awaited before any transfer starts (e.g. fetching ICE servers). */
  prepare?(): Promise<void>;
  /** Serves /stream/ URLs (the stream Service Worker); without it files play once complete. */
  readonly streaming?: StreamingHost;
}

export interface ManagerInit {
  /** The page's origin, for share links (`${origin}/#magnet:...`). */
  readonly origin: string;
  /** Trackers every transfer announces to (the app's own ws(s)://host/announce). */
  readonly defaultTrackers: readonly string[];
  readonly unsupportedReason: string | null;
  /** Most data channels per transfer. */
  readonly maxPeersPerTransfer?: number;
  readonly tickIntervalMs?: number;
  readonly projectionIntervalMs?: number;
  /** Speed chart: one sample per this many ms, at most historySamples kept. */
  readonly sampleIntervalMs?: number;
  readonly historySamples?: number;
}

export class TransferNotFoundError extends Error {
  override name = "TransferNotFoundError";
}
export class FileNotReadyError extends Error {
  override name = "FileNotReadyError";
}
export class OpenError extends Error {
  override name = "OpenError";
}

const MAX_TORRENT_FILE_BYTES = 16 * 1024 * 1024;
const BLOB_FOLD_BYTES = 64 * 1024 * 1024;

interface Transfer {
  readonly infoHash: InfoHash;
  name: string;
  info: TorrentInfo | null;
  readonly trackers: readonly string[];
  readonly addedAtMs: number;
  readonly session: TorrentSessionApi;
  readonly transport: PeerTransport;
  readonly stored: StoredPieceStore;
  seedSource: BlobPieceStore | null;
  readonly clients: TrackerClient<SwarmPeer>[];
  /** The remote peer behind each open connection (one connection per remote peer). */
  readonly remotes: Map<ConnectionId, { readonly peerId: PeerId; readonly direction: "outbound" | "inbound" }>;
  /** Connections this manager closed as duplicates (another channel to the same peer stays): not a lost neighbour. */
  readonly duplicates: Set<ConnectionId>;
  /** When a neighbour was last lost (epoch ms), for overlay maintenance (reannounce.ts). */
  lastPeerLostAtMs: number | null;
  readonly priorities: FilePriority[];
  userPaused: boolean;
  /** A fault the user should read (storage full, a tracker problem is in TrackerView). */
  fault: string | null;
  /** What kind of storage fault paused the transfer, when one did (the UI words each its own way). */
  faultKind: StorageFaultKind | null;
  error: string | null;
  readonly history: SpeedSample[];
  readonly blobUrls: string[];
  /** Open stream reads by id (ascending: the last is the newest), each at its read position. */
  readonly streams: Map<number, { readonly fileIndex: number; byteOffset: number }>;
  /** Called when a piece verifies or the transfer goes away: stream reads waiting for pieces. */
  readonly pieceWaiters: Set<() => void>;
  /** When the last stream read ended (monotonic ms), while the playhead it set is still on. */
  streamsIdleSinceMs: number | null;
  unsubscribe: () => void;
  destroyed: boolean;
}

/** How long the playhead stays where the last stream read left it (a paused player) before the picker goes back to rarest first. */
const playheadKeepMs = 60_000;

/** How long the copy into browser storage waits per ~1 MiB window while the transfer is uploading. */
const copyYieldMaxMs = 1_000;
/** How often the waiting copy checks whether uploading has stopped. */
const copyYieldPollMs = 50;

function fullBitfield(pieceCount: number): Uint8Array {
  const bits = new Uint8Array(Math.ceil(pieceCount / 8));
  bits.fill(0xff);
  const spare = bits.length * 8 - pieceCount;
  if (spare > 0) bits[bits.length - 1] = (0xff << spare) & 0xff;
  return bits;
}

export type StorageFaultKind = "storage-full" | "storage-failed";

function reasonOf(err: unknown): string {
  if (err === null) return "the browser gave no reason";
  if (err instanceof Error || (typeof DOMException !== "undefined" && err instanceof DOMException)) {
    const e = err as Error;
    return e.name && e.name !== "Error" ? `${e.name}: ${e.message}` : e.message;
  }
  return String(err);
}

/**
 * The words for a piece write that failed and paused the transfer. Only a full
 * store (StorageFullError, QuotaExceededError) keeps what is stored and asks for
 * space; any other failure (e.g. IndexedDB's "AbortError: The connection was
 * closed" after the site's data was cleared) says storage failed, with the
 * browser's reason, and that Resume tries again.
 * `error` is what the store threw (undefined when unknown); `sessionMessage` the session's event text.
 */
export function storageFault(error: unknown, sessionMessage: string): { readonly kind: StorageFaultKind; readonly message: string } {
  const full = error === undefined ? /\bstorage is full\b/i.test(sessionMessage) : error instanceof StorageFullError || isQuotaError(error);
  if (full) return { kind: "storage-full", message: sessionMessage };
  const reason = error === undefined ? sessionMessage.replace(/^storing piece \d+ failed:\s*/i, "") : reasonOf(error);
  return { kind: "storage-failed", message: `saving a downloaded piece in browser storage failed (${reason.replace(/[.\s]+$/, "")}). Press Resume to try again` };
}

/** Reads from the dropped files when this page has them, else from storage; writes go to storage. */
class TransferStore implements PieceStore {
  constructor(private readonly t: { seedSource: BlobPieceStore | null; readonly stored: StoredPieceStore; lastWriteError: unknown }) {}
  read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array> {
    if (this.t.seedSource !== null) return this.t.seedSource.read(index, offset, length);
    return this.t.stored.read(index, offset, length);
  }
  write(index: PieceIndex, data: Uint8Array): Promise<void> {
    return this.t.stored.write(index, data).catch((err: unknown) => {
      // Kept for the wording of the session's storage-error event, which has only text.
      this.t.lastWriteError = err;
      throw err;
    });
  }
}

export class SwarmTransferManager implements TransferManager {
  readonly unsupportedReason: string | null;
  readonly #c: ManagerComponents;
  readonly #init: Required<ManagerInit>;
  readonly #db: TransferDb;
  readonly #transfers = new Map<InfoHash, Transfer>();
  readonly #listeners = new Set<(transfers: readonly TransferView[]) => void>();
  readonly #peerId: PeerId;
  /** One WebSocket per tracker URL, shared by every transfer. */
  readonly #sockets: TrackerSocketPool;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  /** Shares being hashed, listed with status "hashing" under a temporary id until their infohash is known. */
  readonly #hashing = new Map<string, { name: string; doneBytes: number; totalBytes: number; addedAtMs: number }>();
  #streamSeq = 0;
  /** Resolves when stored transfers have been resumed. */
  readonly ready: Promise<void>;
  #closed = false;
  /** Applied to every session, including those started later (setUploadLimit). */
  #uploadLimitBytesPerS: number | null = null;

  constructor(init: ManagerInit, components: ManagerComponents) {
    this.#c = components;
    this.#init = {
      maxPeersPerTransfer: 20,
      tickIntervalMs: 200,
      projectionIntervalMs: 250,
      sampleIntervalMs: 1000,
      historySamples: 120,
      ...init,
    };
    this.unsupportedReason = init.unsupportedReason;
    this.#db = new TransferDb(components.kv);
    this.#sockets = new TrackerSocketPool((url) => components.createSocket(url));
    this.#peerId = makePeerId((n) => components.randomBytes(n));
    if (this.unsupportedReason !== null) {
      this.ready = Promise.resolve();
      return;
    }
    this.#timers.push(setInterval(() => this.#tick(), this.#init.tickIntervalMs));
    this.#timers.push(setInterval(() => this.#emit(), this.#init.projectionIntervalMs));
    this.#timers.push(setInterval(() => this.#sample(), this.#init.sampleIntervalMs));
    this.ready = (components.prepare?.() ?? Promise.resolve()).catch(() => undefined).then(() => this.#resumeStored()).catch(() => undefined);
  }

  // ------------------------------------------------------------ lifecycle

  /** Resumes every stored transfer: verified pieces come from the stored bitfield, nothing is re-hashed. */
  async #resumeStored(): Promise<void> {
    const records = await this.#db.list();
    for (const record of records) {
      if (this.#closed || this.#transfers.has(record.infoHash)) continue;
      let info: TorrentInfo | null = null;
      let error: string | null = null;
      if (record.infoBytes !== null) {
        try {
          info = await infoFromBytes(record.infoBytes, record.infoHash);
        } catch (err) {
          error = `the stored torrent data is damaged (${messageOf(err)}); remove this transfer and open its link again`;
        }
      }
      try {
        const t = await this.#start(record, info, null);
        if (error !== null) {
          t.error = error;
          t.session.pause();
        }
      } catch {
        // One transfer that cannot be resumed (its storage unreadable) must not keep the others from resuming.
      }
    }
    this.#emit();
  }

  async #start(record: TransferRecord, info: TorrentInfo | null, seedBlobs: readonly Blob[] | null): Promise<Transfer> {
    const stored = new StoredPieceStore(this.#c.kv, record.infoHash, info);
    let verified = await stored.open();
    const seedSource = info !== null && seedBlobs !== null ? new BlobPieceStore(seedBlobs, info) : null;
    if (info !== null && seedSource !== null) verified = fullBitfield(info.pieceCount);
    const transport = new PeerTransport();
    const holder: { seedSource: BlobPieceStore | null; stored: StoredPieceStore; lastWriteError: unknown } = { seedSource, stored, lastWriteError: undefined };
    const seedWord = new Uint32Array(this.#c.randomBytes(4).buffer.slice(0, 4))[0]!;
    const session = this.#c.createSession(
      { infoHash: record.infoHash, localPeerId: this.#peerId, info, verified },
      {
        clock: { nowMs: () => this.#c.monotonicMs() },
        random: seededRandom(seedWord),
        store: new TransferStore(holder),
        transport,
      },
    );
    if (this.#uploadLimitBytesPerS !== null) session.setUploadLimit(this.#uploadLimitBytesPerS);
    const t: Transfer = {
      infoHash: record.infoHash,
      name: info?.name ?? record.name,
      info,
      trackers: record.trackers,
      addedAtMs: record.addedAtMs,
      session,
      transport,
      stored,
      get seedSource() {
        return holder.seedSource;
      },
      set seedSource(value) {
        holder.seedSource = value;
      },
      clients: [],
      remotes: new Map(),
      duplicates: new Set(),
      lastPeerLostAtMs: null,
      priorities: info === null ? [] : info.files.map(() => "normal"),
      userPaused: record.paused,
      fault: null,
      faultKind: null,
      error: null,
      history: [],
      blobUrls: [],
      streams: new Map(),
      pieceWaiters: new Set(),
      streamsIdleSinceMs: null,
      unsubscribe: () => undefined,
      destroyed: false,
    };
    transport.bind({
      receive: (id, bytes) => session.receive(id, bytes),
      drained: (id) => session.drained(id),
      removed: (id) => {
        t.remotes.delete(id);
        if (!t.duplicates.delete(id)) t.lastPeerLostAtMs = this.#c.nowMs();
        session.removeConnection(id);
      },
    });
    t.unsubscribe = session.subscribe((event) => this.#onSessionEvent(t, event, holder));
    if (record.paused) session.pause();
    this.#transfers.set(record.infoHash, t);
    for (const url of record.trackers) this.#addTracker(t, url);
    return t;
  }

  #addTracker(t: Transfer, url: string): void {
    let client: TrackerClient<SwarmPeer>;
    try {
      client = new TrackerClient<SwarmPeer>(
        { announceUrl: url, infoHash: t.infoHash, peerId: this.#peerId },
        {
          createSocket: (u) => this.#sockets.createSocket(u),
          createPeer: (o) => this.#c.createPeer(o),
          randomBytes: (n) => this.#c.randomBytes(n),
          nowMs: () => this.#c.nowMs(),
          stats: () => {
            const s = t.session.snapshot();
            return { uploaded: s.uploadedBytes, downloaded: s.downloadedBytes, left: s.hasMetadata ? s.totalBytes - s.verifiedBytes : null };
          },
          wantedPeers: () => (t.destroyed || t.userPaused || t.error !== null ? 0 : Math.max(0, this.#init.maxPeersPerTransfer - t.transport.connectionCount)),
          onPeer: (peer, remote) => this.#onPeer(t, peer, remote.direction, remote.peerId),
          isConnected: (peerId) => [...t.remotes.values()].some((r) => r.peerId === peerId),
        },
      );
    } catch (err) {
      if (err instanceof TrackerUrlError) return;
      throw err;
    }
    t.clients.push(client);
    client.start();
  }

  #onPeer(t: Transfer, peer: SwarmPeer, direction: "outbound" | "inbound", remote: PeerId): void {
    if (t.destroyed || this.#closed) {
      peer.destroy();
      return;
    }
    const existing = [...t.remotes].find(([, r]) => r.peerId === remote);
    if (existing !== undefined) {
      // Two peers that offered to each other at once have two channels. Both
      // sides keep the one opened by the lower peer id, so they agree on it.
      const keepOutbound = this.#peerId < remote;
      const keeper = keepOutbound ? "outbound" : "inbound";
      if (existing[1].direction === keeper || direction !== keeper) {
        peer.destroy();
        return;
      }
      t.duplicates.add(existing[0]);
      t.transport.close(existing[0], "a second channel to the same peer");
    }
    let id;
    try {
      id = t.transport.add(peer, remote.slice(0, 16));
    } catch {
      peer.destroy();
      return;
    }
    t.remotes.set(id, { peerId: remote, direction });
    t.session.addConnection(id, direction);
  }

  #onSessionEvent(t: Transfer, event: SessionEvent, holder: { lastWriteError: unknown }): void {
    switch (event.type) {
      case "metadata": {
        if (t.info !== null) return;
        t.info = event.info;
        t.name = event.info.name;
        t.stored.setInfo(event.info);
        t.priorities.splice(0, t.priorities.length, ...event.info.files.map((): FilePriority => "normal"));
        void this.#db
          .put({ infoHash: t.infoHash, name: t.name, infoBytes: event.info.infoBytes, trackers: t.trackers, addedAtMs: t.addedAtMs, paused: t.userPaused })
          .catch((err: unknown) => {
            t.fault = `could not save the torrent's metadata: ${messageOf(err)}`;
          });
        return;
      }
      case "piece-verified":
        for (const wake of [...t.pieceWaiters]) wake();
        return;
      case "completed":
        for (const c of t.clients) c.completed();
        return;
      case "storage-error": {
        // Not paused: pieces could not be read back (storage cleared); the view says so from lostPieceCount.
        if (!event.paused) return;
        const fault = storageFault(holder.lastWriteError, event.message);
        holder.lastWriteError = undefined;
        t.fault = fault.message;
        t.faultKind = fault.kind;
        return;
      }
      default:
        return;
    }
  }

  #tick(): void {
    for (const t of this.#transfers.values()) {
      if (t.destroyed) continue;
      try {
        t.session.tick();
      } catch (err) {
        t.error = `the transfer stopped on an internal error: ${messageOf(err)}`;
      }
      t.transport.poll();
      this.#maintainOverlay(t);
      // Pieces can also appear without a verify event (the same files shared again here).
      for (const wake of [...t.pieceWaiters]) wake();
      if (t.streamsIdleSinceMs !== null && this.#c.monotonicMs() - t.streamsIdleSinceMs > playheadKeepMs) {
        t.streamsIdleSinceMs = null;
        t.session.setPlayhead(null);
      }
    }
  }

  /** Alone, or a neighbour lost with few left, while downloading: ask the trackers again rather than wait out their interval. */
  #maintainOverlay(t: Transfer): void {
    const connectedPeers = t.transport.connectionCount;
    // Cheap checks first: the snapshot is only taken when an announce may be due.
    if (t.userPaused || t.error !== null || connectedPeers >= reannouncePolicy.fewPeers) return;
    const complete = t.session.snapshot().complete;
    const nowMs = this.#c.nowMs();
    for (const c of t.clients) {
      const since = c.msSinceAnnounce;
      const due = shouldReannounce({
        connectedPeers,
        complete,
        idle: false,
        trackerState: c.status.state,
        lastAnnounceAtMs: since === null ? null : nowMs - since,
        lastPeerLostAtMs: t.lastPeerLostAtMs,
        nowMs,
      });
      if (due) c.announceNow();
    }
  }

  #sample(): void {
    const now = this.#c.nowMs();
    for (const t of this.#transfers.values()) {
      const s = t.session.snapshot();
      t.history.push({ atMs: now, downloadBytesPerS: s.downloadRateBytesPerS, uploadBytesPerS: s.uploadRateBytesPerS });
      if (t.history.length > this.#init.historySamples) t.history.splice(0, t.history.length - this.#init.historySamples);
    }
  }

  /** Stops timers, trackers and connections (page unload, tests). Stored data stays. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const t of this.#transfers.values()) this.#teardown(t);
    this.#transfers.clear();
  }

  #teardown(t: Transfer): void {
    t.destroyed = true;
    for (const c of t.clients) c.stop();
    t.unsubscribe();
    t.transport.closeAll("the transfer was closed");
    t.session.destroy();
    for (const wake of [...t.pieceWaiters]) wake();
    for (const url of t.blobUrls) URL.revokeObjectURL(url);
  }

  // ----------------------------------------------------------- the API

  async share(files: readonly { readonly file: File; readonly path: string }[], options: { readonly signal?: AbortSignal; readonly name?: string } = {}): Promise<string> {
    this.#assertSupported();
    mark("swarmdrop:share-start");
    const dropped = files.map((f) => ({ file: f.file, path: f.path }));
    // Named as the torrent will be; the UI shows it with hashing progress.
    let name: string;
    try {
      name = planTorrent(dropped, options.name).name;
    } catch (err) {
      throw new OpenError(messageOf(err));
    }
    const tempId = toHex(this.#c.randomBytes(20));
    const entry = { name, doneBytes: 0, totalBytes: files.reduce((sum, f) => sum + f.file.size, 0), addedAtMs: this.#c.nowMs() };
    this.#hashing.set(tempId, entry);
    this.#emit();
    let hashed;
    try {
      hashed = await hashFiles(dropped, {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(this.#c.hashRunner === undefined ? {} : { runner: this.#c.hashRunner }),
        onProgress: (doneBytes) => {
          entry.doneBytes = doneBytes;
        },
      });
    } finally {
      this.#hashing.delete(tempId);
    }
    mark("swarmdrop:share-hashed");
    const info = hashed.info;
    await this.ready;
    const existing = this.#transfers.get(info.infoHash);
    if (existing !== undefined) {
      // The same content again: seed it from these files from now on.
      existing.seedSource = new BlobPieceStore(hashed.blobs, info);
      void this.#copyToStorage(existing);
      this.#emit();
      return info.infoHash;
    }
    const record: TransferRecord = {
      infoHash: info.infoHash,
      name: info.name,
      infoBytes: info.infoBytes,
      trackers: [...this.#init.defaultTrackers],
      addedAtMs: this.#c.nowMs(),
      paused: false,
    };
    await this.#db.put(record);
    const t = await this.#start(record, info, hashed.blobs);
    void this.#copyToStorage(t);
    this.#emit();
    mark("swarmdrop:share-ready");
    return info.infoHash;
  }

  /** Copies a share's pieces from the dropped files into IndexedDB, one at a time, so a reload keeps seeding. */
  async #copyToStorage(t: Transfer): Promise<void> {
    const info = t.info;
    const source = t.seedSource;
    if (info === null || source === null) return;
    // A ~1 MiB window of pieces at a time: read once, written in one transaction.
    const step = windowPieces(info.pieceLength);
    for (let first = 0; first < info.pieceCount; first += step) {
      if (t.destroyed || this.#closed) return;
      const indices: number[] = [];
      for (let i = first; i < Math.min(info.pieceCount, first + step); i++) if (!t.stored.has(i)) indices.push(i);
      try {
        if (indices.length > 0) {
          const from = indices[0]!;
          const pieces = await source.readPieces(from, indices[indices.length - 1]! + 1);
          await Promise.all(indices.map((i) => t.stored.write(pieceIndex(i, info.pieceCount), pieces[i - from]!)));
        }
      } catch (err) {
        t.fault =
          err instanceof StorageFullError
            ? `browser storage is full: “${t.name}” is seeded from your files while this page stays open, but will not be after a reload`
            : `could not keep a copy of “${t.name}” in browser storage (${messageOf(err)}); it is seeded while this page stays open`;
        return;
      }
      // Let the page breathe between windows, and give way to serving peers.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await this.#yieldToUploads(t);
    }
  }

  /**
   * While the transfer is sending to peers, the copy waits (at most
   * copyYieldMaxMs per window): it competes with serving for the page's main
   * thread and the disk. Measured: the seed's main thread was ~90 % busy
   * copying and serving at once in the 256 MiB two-peer benchmark.
   */
  async #yieldToUploads(t: Transfer): Promise<void> {
    const startMs = Date.now();
    let sent = t.transport.sentBytes;
    while (!t.destroyed && !this.#closed && Date.now() - startMs < copyYieldMaxMs) {
      await new Promise((resolve) => setTimeout(resolve, copyYieldPollMs));
      const now = t.transport.sentBytes;
      if (now === sent) return;
      sent = now;
    }
  }

  async open(source: { readonly link: string } | { readonly torrentFile: File }): Promise<string> {
    this.#assertSupported();
    await this.ready;
    let infoHash: InfoHash;
    let name: string;
    let info: TorrentInfo | null = null;
    let trackers: string[];
    if ("link" in source) {
      let link;
      try {
        link = parseShareFragment(source.link);
      } catch (err) {
        throw new OpenError(messageOf(err));
      }
      infoHash = link.infoHash;
      name = link.displayName ?? `Transfer ${infoHash.slice(0, 8)}`;
      trackers = webSocketTrackers([...this.#init.defaultTrackers, ...link.trackers]);
    } else {
      const file = source.torrentFile;
      if (file.size > MAX_TORRENT_FILE_BYTES) throw new OpenError(`“${file.name}” is ${file.size} bytes: too large for a .torrent file`);
      let parsed;
      try {
        parsed = await parseTorrentFile(new Uint8Array(await file.arrayBuffer()));
      } catch (err) {
        throw new OpenError(`“${file.name}” is not a valid .torrent file: ${messageOf(err)}`);
      }
      info = parsed.info;
      infoHash = info.infoHash;
      name = info.name;
      trackers = webSocketTrackers([...this.#init.defaultTrackers, ...parsed.announce]);
    }
    if (this.#transfers.has(infoHash)) return infoHash;
    const record: TransferRecord = { infoHash, name, infoBytes: info?.infoBytes ?? null, trackers, addedAtMs: this.#c.nowMs(), paused: false };
    await this.#db.put(record);
    await this.#start(record, info, null);
    this.#emit();
    return infoHash;
  }

  async remove(infoHash: string): Promise<void> {
    const t = this.#get(infoHash);
    this.#transfers.delete(t.infoHash);
    t.stored.markDeleted();
    this.#teardown(t);
    await this.#db.delete(t.infoHash);
    this.#emit();
  }

  pause(infoHash: string): void {
    const t = this.#get(infoHash);
    t.userPaused = true;
    t.session.pause();
    void this.#saveFlags(t);
    this.#emit();
  }

  resume(infoHash: string): void {
    const t = this.#get(infoHash);
    t.userPaused = false;
    t.fault = null;
    t.faultKind = null;
    t.session.resume();
    for (const c of t.clients) c.announceNow();
    void this.#saveFlags(t);
    this.#emit();
  }

  async #saveFlags(t: Transfer): Promise<void> {
    try {
      const record = await this.#db.get(t.infoHash);
      if (record !== undefined && !t.destroyed) await this.#db.put({ ...record, paused: t.userPaused });
    } catch {
      // The flag is a convenience; the transfer goes on.
    }
  }

  setUploadLimit(bytesPerS: number | null): void {
    if (bytesPerS !== null && !(Number.isFinite(bytesPerS) && bytesPerS > 0)) throw new RangeError(`an upload limit is a number of bytes/s above 0, or null for none; got ${bytesPerS}`);
    this.#uploadLimitBytesPerS = bytesPerS;
    for (const t of this.#transfers.values()) if (!t.destroyed) t.session.setUploadLimit(bytesPerS);
  }

  setFilePriority(infoHash: string, fileIndex: number, priority: FilePriority): void {
    const t = this.#get(infoHash);
    if (t.info === null || !Number.isInteger(fileIndex) || fileIndex < 0 || fileIndex >= t.info.files.length) return;
    t.priorities[fileIndex] = priority;
    // A file being played stays first until its player closes; then the choice applies.
    if (![...t.streams.values()].some((r) => r.fileIndex === fileIndex)) t.session.setFilePriority(fileIndex, priority);
    this.#emit();
  }

  async fileBlob(infoHash: string, fileIndex: number): Promise<Blob> {
    const t = this.#get(infoHash);
    const info = this.#requireInfo(t);
    const file = info.files[fileIndex];
    if (file === undefined) throw new FileNotReadyError(`“${t.name}” has no file number ${fileIndex}`);
    if (t.seedSource !== null) return t.seedSource.blobs[fileIndex]!;
    this.#requireComplete(t, info, fileIndex);
    const type = mimeType(file.path[file.path.length - 1] ?? "");
    // Folded into a Blob every 64 MiB so a large file is never whole in the JS heap
    // (the browser may keep big Blobs on disk).
    let blob = new Blob([], { type });
    let parts: Uint8Array<ArrayBuffer>[] = [];
    let partBytes = 0;
    for await (const chunk of this.#fileChunks(t, info, fileIndex)) {
      parts.push(chunk);
      partBytes += chunk.length;
      if (partBytes >= BLOB_FOLD_BYTES) {
        blob = new Blob([blob, ...parts], { type });
        parts = [];
        partBytes = 0;
      }
    }
    return new Blob([blob, ...parts], { type });
  }

  /** The bytes of one file, piece by piece, read lazily from the store. */
  async *#fileChunks(t: Transfer, info: TorrentInfo, fileIndex: number): AsyncGenerator<Uint8Array<ArrayBuffer>> {
    const file = info.files[fileIndex]!;
    const range = filePieceRange(info, fileIndex);
    if (range === null) return;
    for (let p = range.first; p <= range.last; p++) {
      const pieceStart = p * info.pieceLength;
      const from = Math.max(file.offset, pieceStart);
      const to = Math.min(file.offset + file.length, pieceStart + pieceSize(info, p));
      const store = t.seedSource ?? t.stored;
      const bytes = await store.read(pieceIndex(p, info.pieceCount), from - pieceStart, to - from);
      yield bytes.slice();
    }
  }

  zipStream(infoHash: string): ReadableStream<Uint8Array> {
    let t: Transfer;
    let info: TorrentInfo;
    try {
      t = this.#get(infoHash);
      info = this.#requireInfo(t);
      for (let i = 0; i < info.files.length; i++) this.#requireComplete(t, info, i);
    } catch (err) {
      return new ReadableStream<Uint8Array>({ start: (controller) => controller.error(err) });
    }
    const tt = t;
    const ii = info;
    const chunks = (i: number): AsyncGenerator<Uint8Array<ArrayBuffer>> => this.#fileChunks(tt, ii, i);
    async function* entries() {
      for (let i = 0; i < ii.files.length; i++) {
        const f = ii.files[i]!;
        const name = ii.isMultiFile ? [ii.name, ...f.path].join("/") : ii.name;
        yield { name, size: f.length, lastModified: new Date(tt.addedAtMs), input: iterableStream(chunks(i)) };
      }
    }
    return makeZip(entries());
  }

  streamingSupport(): Promise<string | null> {
    return (this.#c.streaming ?? noStreaming).ready;
  }

  async streamUrl(infoHash: string, fileIndex: number): Promise<string> {
    const t = this.#get(infoHash);
    const info = this.#requireInfo(t);
    const file = info.files[fileIndex];
    if (file === undefined) throw new FileNotReadyError(`“${t.name}” has no file number ${fileIndex}`);
    if ((await this.streamingSupport()) === null) return streamPath(t.infoHash, fileIndex, file.path[file.path.length - 1] ?? t.name);
    if (!this.#fileComplete(t, info, fileIndex)) {
      // No Service Worker: fetch this file in order from its start, then play it whole.
      t.session.setFilePriority(fileIndex, "high");
      t.session.setPlayhead({ fileIndex, byteOffset: 0 });
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (t.destroyed) {
            clearInterval(timer);
            reject(new TransferNotFoundError(`“${t.name}” was removed`));
          } else if (this.#fileComplete(t, info, fileIndex)) {
            clearInterval(timer);
            resolve();
          }
        }, this.#init.tickIntervalMs);
      });
      t.session.setPlayhead(null);
      t.session.setFilePriority(fileIndex, t.priorities[fileIndex] ?? "normal");
    }
    const url = URL.createObjectURL(await this.fileBlob(infoHash, fileIndex));
    t.blobUrls.push(url);
    return url;
  }

  /** For the stream host: one file's size, name and media type (TransferNotFoundError when this page has no such transfer). */
  streamFile(infoHash: string, fileIndex: number): { readonly lengthBytes: number; readonly name: string; readonly mime: string } {
    const t = this.#get(infoHash);
    const info = this.#requireInfo(t);
    const file = info.files[fileIndex];
    if (file === undefined) throw new FileNotReadyError(`“${t.name}” has no file number ${fileIndex}`);
    const name = file.path[file.path.length - 1] ?? t.name;
    return { lengthBytes: file.length, name, mime: mimeType(name) };
  }

  /**
   * Bytes [start, end) of one file, in order, at most a piece per chunk. A
   * missing piece moves the playhead to it (when this is the newest open read)
   * and is waited for; the signal's abort ends the wait (the player went away).
   */
  async *readFileRange(infoHash: string, fileIndex: number, start: number, end: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
    const t = this.#get(infoHash);
    const info = this.#requireInfo(t);
    const file = info.files[fileIndex];
    if (file === undefined) throw new FileNotReadyError(`“${t.name}” has no file number ${fileIndex}`);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > file.length) {
      throw new RangeError(`bytes ${start}..${end} are outside “${file.path.join("/")}” (${file.length} bytes)`);
    }
    const id = ++this.#streamSeq;
    const read = { fileIndex, byteOffset: start };
    t.streams.set(id, read);
    t.streamsIdleSinceMs = null;
    // While it plays, the file comes before the others (the playhead's window is picked within a priority).
    t.session.setFilePriority(fileIndex, "high");
    try {
      for (const span of fileRangePieces(info, fileIndex, start, end)) {
        read.byteOffset = span.fileStart;
        if (!this.#hasPiece(t, span.piece)) {
          this.#followNewestStream(t);
          await this.#waitForPiece(t, span.piece, signal);
        }
        signal.throwIfAborted();
        if (t.destroyed) throw new TransferNotFoundError(`“${t.name}” was removed while playing`);
        const store = t.seedSource ?? t.stored;
        const bytes = await store.read(pieceIndex(span.piece, info.pieceCount), span.pieceOffset, span.length);
        yield bytes.slice();
      }
    } finally {
      t.streams.delete(id);
      if (!t.destroyed && ![...t.streams.values()].some((r) => r.fileIndex === fileIndex)) {
        t.session.setFilePriority(fileIndex, t.priorities[fileIndex] ?? "normal");
      }
      if (t.streams.size === 0) t.streamsIdleSinceMs = this.#c.monotonicMs();
      else this.#followNewestStream(t);
    }
  }

  /** The playhead goes where the newest open stream read is. */
  #followNewestStream(t: Transfer): void {
    if (t.destroyed) return;
    const newest = [...t.streams.values()].at(-1);
    if (newest !== undefined) t.session.setPlayhead({ fileIndex: newest.fileIndex, byteOffset: newest.byteOffset });
  }

  #hasPiece(t: Transfer, index: number): boolean {
    return t.seedSource !== null || t.stored.has(index);
  }

  #waitForPiece(t: Transfer, index: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = () => {
        t.pieceWaiters.delete(check);
        signal.removeEventListener("abort", aborted);
      };
      const check = () => {
        if (t.destroyed) {
          stop();
          reject(new TransferNotFoundError(`“${t.name}” was removed while playing`));
        } else if (this.#hasPiece(t, index)) {
          stop();
          resolve();
        }
      };
      const aborted = () => {
        stop();
        reject(signal.reason instanceof Error || signal.reason instanceof DOMException ? signal.reason : new DOMException("The read was stopped", "AbortError"));
      };
      if (signal.aborted) {
        aborted();
        return;
      }
      t.pieceWaiters.add(check);
      signal.addEventListener("abort", aborted, { once: true });
      check();
    });
  }

  async storageUsage(): Promise<StorageUsage> {
    const estimate = await estimateStorage();
    let ours = 0;
    for (const t of this.#transfers.values()) ours += t.stored.storedBytes;
    // The estimate lags behind recent writes; never show less than what we know we keep.
    return { usedBytes: Math.max(estimate.usedBytes ?? 0, ours), quotaBytes: estimate.quotaBytes };
  }

  subscribe(listener: (transfers: readonly TransferView[]) => void): () => void {
    this.#listeners.add(listener);
    listener(this.views());
    return () => {
      this.#listeners.delete(listener);
    };
  }

  // ------------------------------------------------------- projection

  #emit(): void {
    if (this.#listeners.size === 0) return;
    const views = this.views();
    for (const l of this.#listeners) {
      try {
        l(views);
      } catch {
        // A listener's failure is the UI's; the swarm goes on.
      }
    }
  }

  /** The current TransferView of every transfer, newest first. */
  views(): TransferView[] {
    const hashing = [...this.#hashing].map(([id, h]) => ({ at: h.addedAtMs, view: hashingView(id, h) }));
    const running = [...this.#transfers.values()].map((t) => ({ at: t.addedAtMs, view: this.#view(t) }));
    return [...hashing, ...running].sort((a, b) => b.at - a.at).map((x) => x.view);
  }

  #view(t: Transfer): TransferView {
    const s = t.session.snapshot();
    const info = t.info;
    const remaining = s.totalBytes - s.verifiedBytes;
    const rate = rollingRate(t.history, s.downloadRateBytesPerS);
    const base = this.#init.origin.replace(/\/+$/, "");
    const link = formatMagnet({ infoHash: t.infoHash, displayName: t.name, trackers: t.trackers, webSeeds: [] });
    return {
      infoHash: t.infoHash,
      name: t.name,
      status: statusOf(t, s),
      message: t.error ?? t.fault ?? null,
      ...(t.error === null && t.faultKind !== null ? { fault: t.faultKind } : {}),
      shareLink: `${base}/#${link}`,
      hashing: null,
      totalBytes: s.totalBytes,
      verifiedBytes: s.verifiedBytes,
      files: info === null ? [] : fileViews(info, s.pieceStates, t.priorities),
      pieceCount: s.pieceCount,
      pieceStates: s.pieceStates,
      availability: s.availability,
      downloadRateBytesPerS: s.downloadRateBytesPerS,
      uploadRateBytesPerS: s.uploadRateBytesPerS,
      downloadedBytes: s.downloadedBytes,
      uploadedBytes: s.uploadedBytes,
      etaS: s.complete || !s.hasMetadata || rate <= 0 ? null : Math.ceil(remaining / rate),
      speedHistory: [...t.history],
      peers: s.peers,
      bannedPeerCount: s.bannedPeerCount,
      trackers: t.clients.map((c): TrackerView => c.status),
      storedBytes: t.stored.storedBytes,
      unavailablePieceCount: s.unavailablePieceCount,
      unavailableBytes: s.unavailableBytes,
      lostPieceCount: s.lostPieceCount,
    };
  }

  // ---------------------------------------------------------- helpers

  #assertSupported(): void {
    if (this.unsupportedReason !== null) throw new Error(this.unsupportedReason);
  }

  #get(infoHash: string): Transfer {
    const t = this.#transfers.get(infoHash.toLowerCase() as InfoHash);
    if (t === undefined) throw new TransferNotFoundError(`no transfer ${infoHash}`);
    return t;
  }

  #requireInfo(t: Transfer): TorrentInfo {
    if (t.info === null) throw new FileNotReadyError(`“${t.name}” is still fetching its file list from peers`);
    return t.info;
  }

  #fileComplete(t: Transfer, info: TorrentInfo, fileIndex: number): boolean {
    const range = filePieceRange(info, fileIndex);
    if (range === null) return true;
    const states = t.session.snapshot().pieceStates;
    for (let p = range.first; p <= range.last; p++) if (states[p] !== PieceState.verified) return false;
    return true;
  }

  #requireComplete(t: Transfer, info: TorrentInfo, fileIndex: number): void {
    if (!this.#fileComplete(t, info, fileIndex)) {
      const path = info.files[fileIndex]!.path.join("/");
      throw new FileNotReadyError(`“${path}” is not complete yet`);
    }
  }
}

function hashingView(id: string, h: { name: string; doneBytes: number; totalBytes: number }): TransferView {
  return {
    infoHash: id,
    name: h.name,
    status: "hashing",
    message: null,
    shareLink: "",
    hashing: { doneBytes: h.doneBytes, totalBytes: h.totalBytes },
    totalBytes: h.totalBytes,
    verifiedBytes: 0,
    files: [],
    pieceCount: 0,
    pieceStates: new Uint8Array(0),
    availability: new Uint16Array(0),
    downloadRateBytesPerS: 0,
    uploadRateBytesPerS: 0,
    downloadedBytes: 0,
    uploadedBytes: 0,
    etaS: null,
    speedHistory: [],
    peers: [],
    bannedPeerCount: 0,
    trackers: [],
    storedBytes: 0,
    unavailablePieceCount: 0,
    unavailableBytes: 0,
    lostPieceCount: 0,
  };
}

function statusOf(t: Transfer, s: SessionSnapshot): TransferStatus {
  if (t.error !== null) return "error";
  if (t.userPaused || s.paused) return "paused";
  if (!s.hasMetadata) return "fetching-metadata";
  if (s.complete) return "seeding";
  if (s.peers.length === 0) return "connecting";
  return "downloading";
}

/** Download rate averaged over the last ~10 samples (about 10 s), for a steadier ETA. */
function rollingRate(history: readonly SpeedSample[], current: number): number {
  const recent = history.slice(-10);
  if (recent.length === 0) return current;
  return recent.reduce((sum, x) => sum + x.downloadBytesPerS, 0) / recent.length;
}

export function fileViews(info: TorrentInfo, states: Uint8Array, priorities: readonly FilePriority[]): FileView[] {
  return info.files.map((f, i): FileView => {
    const range = filePieceRange(info, i);
    let verified = 0;
    if (range !== null) {
      for (let p = range.first; p <= range.last; p++) {
        if (states[p] !== PieceState.verified) continue;
        const start = Math.max(f.offset, p * info.pieceLength);
        const end = Math.min(f.offset + f.length, p * info.pieceLength + pieceSize(info, p));
        verified += end - start;
      }
    }
    const name = f.path[f.path.length - 1] ?? "";
    return {
      index: i,
      path: info.isMultiFile ? [info.name, ...f.path].join("/") : info.name,
      lengthBytes: f.length,
      progress: f.length === 0 ? 1 : verified / f.length,
      complete: verified === f.length,
      priority: priorities[i] ?? "normal",
      streamable: mediaKind(name) !== null,
    };
  });
}

function webSocketTrackers(urls: readonly string[]): string[] {
  const out: string[] = [];
  for (const url of urls) {
    if (/^wss?:\/\//i.test(url) && !out.includes(url)) out.push(url);
  }
  return out;
}

function iterableStream(chunks: AsyncGenerator<Uint8Array<ArrayBuffer>>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await chunks.next();
      if (next.done === true) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A User Timing mark (the benchmarks read them to split the time to share into its phases). */
function mark(name: string): void {
  try {
    globalThis.performance?.mark?.(name);
  } catch {
    // Timing marks are a diagnostic only.
  }
}
