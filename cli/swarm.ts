// Joins the swarm: one torrent session (core/engine/session-types.ts
// TorrentSessionApi) over WebRTC data channels (simple-peer + @roamhq/wrtc, via
// web/adapters/peer-transport.ts) found through WebSocket trackers (via
// web/adapters/tracker-client.ts, with `ws`). Everything the session needs from
// the outside world comes in through SwarmDeps, so tests can run two peers in
// one process.
//
// runSwarm() is the production entry (core/engine/session.ts TorrentSession).
import { TorrentSession } from "../core/engine/session.ts";
import type { PieceStore, SessionComponents, SessionEvent, SessionInit, SessionSnapshot, TorrentSessionApi } from "../core/engine/session-types.ts";
import { makePeerId, type InfoHash, type PeerId, type PieceIndex } from "../core/ids.ts";
import type { TorrentInfo } from "../core/metainfo.ts";
import { seededRandom } from "../core/random.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import { PeerTransport } from "../web/adapters/peer-transport.ts";
import { TrackerClient, TrackerUrlError, type WebSocketLike } from "../web/adapters/tracker-client.ts";
import { InterruptedError, NetworkError, StorageError } from "./errors.ts";
import type { FileStore } from "./file-store.ts";
import { createNodePeer, createNodeSocket, loadWrtc, type NodePeer } from "./node-peer.ts";
import { formatBytes, progressLine } from "./progress.ts";

export interface SwarmRunInit {
  readonly mode: "seed" | "download";
  readonly infoHash: InfoHash;
  /** null when joining from a magnet link (the info dict then comes from peers, BEP 9). */
  readonly info: TorrentInfo | null;
  readonly trackers: readonly string[];
  /** The store when the info dict is known; otherwise made by storeFor once it arrives. */
  readonly store: FileStore | null;
  /** Makes (and prepares) the download store once the info dict arrived over BEP 9. */
  readonly storeFor?: (info: TorrentInfo) => Promise<FileStore>;
  /** Pieces already verified on disk. */
  readonly verified: Bitfield | null;
  /** Keep seeding after a download completes. */
  readonly seedAfterDownload: boolean;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
  /** Called now and then, and at the end, with the verified pieces (for the resume state). */
  readonly saveProgress?: (info: TorrentInfo, store: FileStore, verified: Bitfield) => Promise<void>;
  /** Most data channels at once. */
  readonly maxPeers?: number;
  /** Called every status interval with a snapshot (a terminal status line); without it, a log line every 5 s. */
  readonly onStatus?: (snapshot: SessionSnapshot) => void;
  /** Engine settings beyond the defaults (e.g. super-seeding for `seed --super-seed`). */
  readonly settings?: SessionInit["settings"];
}

export interface SwarmDeps {
  createSession(init: SessionInit, components: SessionComponents): TorrentSessionApi;
  createSocket(url: string): WebSocketLike;
  createPeer(options: { readonly initiator: boolean }): NodePeer;
  randomBytes(n: number): Uint8Array;
  /** Epoch ms (tracker retry times). */
  nowMs(): number;
  /** Monotonic ms (the session's clock). */
  monotonicMs(): number;
  readonly tickIntervalMs?: number;
  /** @roamhq/wrtc never fires bufferedamountlow: the transport polls bufferedAmount this often. */
  readonly pollIntervalMs?: number;
  readonly statusIntervalMs?: number;
}

export interface SwarmResult {
  readonly verified: Bitfield | null;
  readonly uploadedBytes: number;
  readonly downloadedBytes: number;
  readonly peerId: PeerId;
}

/** Delegates to the FileStore once it exists (a magnet download learns its files from peers). */
class DeferredStore implements PieceStore {
  store: FileStore | null;
  constructor(store: FileStore | null) {
    this.store = store;
  }
  read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array> {
    if (this.store === null) return Promise.reject(new StorageError("no pieces yet: the torrent's files are not known"));
    return this.store.read(index, offset, length);
  }
  write(index: PieceIndex, data: Uint8Array): Promise<void> {
    if (this.store === null) return Promise.reject(new StorageError("the torrent's files are not known yet"));
    return this.store.write(index, data);
  }
}

const saveEveryMs = 2000;

/** "downloading [#####---]  45%  12.0 MiB of 64.0 MiB  down 7.00 MiB/s  up 0 B/s  3 peers" */
export function statusLine(s: SessionSnapshot, mode: "seed" | "download"): string {
  const peers = `${s.peers.length} peer${s.peers.length === 1 ? "" : "s"}`;
  if (!s.hasMetadata) return `fetching the torrent's metadata from peers  ${peers}`;
  const label = mode === "seed" || s.complete ? "seeding" : "downloading";
  const rates = `down ${formatBytes(Math.round(s.downloadRateBytesPerS))}/s  up ${formatBytes(Math.round(s.uploadRateBytesPerS))}/s`;
  return `${progressLine(label, s.verifiedBytes, s.totalBytes, null)}  ${rates}  ${peers}`;
}

/** "-SD0100-..." / "-WW0208-..." (Azureus-style peer ids, BEP 20) -> "SD0100"; else the id's first hex digits. */
export function clientFromPeerId(peerId: PeerId): string {
  const ascii = String.fromCharCode(...(peerId.slice(0, 16).match(/../g) ?? []).map((h) => parseInt(h, 16)));
  return /^-[A-Za-z]{2}[0-9A-Za-z]{4}-$/.test(ascii) ? ascii.slice(1, 7) : `peer ${peerId.slice(0, 12)}`;
}

/**
 * Runs the session until the download completes (unless seeding after it),
 * or until the signal aborts (then rejects with InterruptedError).
 */
export async function runSwarmWith(init: SwarmRunInit, deps: SwarmDeps): Promise<SwarmResult> {
  if (init.signal.aborted) throw new InterruptedError();
  const peerId = makePeerId((n) => deps.randomBytes(n));
  const transport = new PeerTransport();
  const holder = new DeferredStore(init.store);
  const seedWord = new DataView(deps.randomBytes(4).buffer).getUint32(0);
  const session = deps.createSession(
    {
      infoHash: init.infoHash,
      localPeerId: peerId,
      info: init.info,
      ...(init.verified === null ? {} : { verified: init.verified.toBytes() }),
      ...(init.settings === undefined ? {} : { settings: init.settings }),
    },
    { clock: { nowMs: () => deps.monotonicMs() }, random: seededRandom(seedWord), store: holder, transport },
  );
  transport.bind({
    receive: (id, bytes) => session.receive(id, bytes),
    drained: (id) => session.drained(id),
    removed: (id) => session.removeConnection(id),
  });

  let info = init.info;
  let verified = init.verified ?? (info === null ? null : new Bitfield(info.pieceCount));
  const maxPeers = init.maxPeers ?? 20;
  let stopped = false;
  const clients: TrackerClient<NodePeer>[] = [];
  const timers: ReturnType<typeof setInterval>[] = [];
  let lastSaveMs = deps.monotonicMs();
  let saving: Promise<void> = Promise.resolve();

  const save = (): Promise<void> => {
    const store = holder.store;
    if (init.saveProgress === undefined || info === null || store === null || verified === null) return saving;
    const [i, s, v] = [info, store, verified.clone()];
    saving = saving.then(() => init.saveProgress!(i, s, v)).catch((err: unknown) => init.log(`warning: could not save progress: ${err instanceof Error ? err.message : String(err)}`));
    return saving;
  };

  let finish: (outcome: { ok: true } | { ok: false; error: Error }) => void = () => undefined;
  const done = new Promise<{ ok: true } | { ok: false; error: Error }>((resolve) => (finish = resolve));

  const onEvent = (event: SessionEvent): void => {
    switch (event.type) {
      case "metadata":
        if (info !== null) return;
        info = event.info;
        verified = new Bitfield(info.pieceCount);
        init.log(`got the torrent's metadata: "${info.name}", ${info.files.length} file(s), ${formatBytes(info.totalLength)}`);
        if (holder.store === null && init.storeFor !== undefined) {
          session.pause(); // nothing can be stored until the files exist
          init
            .storeFor(info)
            .then((store) => {
              holder.store = store;
              session.resume();
            })
            .catch((err: unknown) => finish({ ok: false, error: err instanceof Error ? err : new StorageError(String(err)) }));
        }
        return;
      case "piece-verified":
        verified?.set(event.index);
        if (deps.monotonicMs() - lastSaveMs >= saveEveryMs) {
          lastSaveMs = deps.monotonicMs();
          void save();
        }
        return;
      case "completed":
        for (const c of clients) c.completed();
        void save();
        if (init.mode === "download") {
          init.log(init.seedAfterDownload ? "download complete; seeding (Ctrl-C to stop)" : "download complete");
          if (!init.seedAfterDownload) finish({ ok: true });
        }
        return;
      case "storage-error":
        init.log(`storage: ${event.message}`);
        if (event.paused) finish({ ok: false, error: new StorageError(event.message) });
        return;
      case "peer-joined":
        init.log(`peer joined: ${event.client ?? clientFromPeerId(event.peerId)}`);
        return;
      case "peer-left":
        init.log(`peer left: ${event.reason}`);
        return;
      case "peer-banned":
        init.log(`peer banned: ${event.reason}`);
        return;
      case "piece-failed":
      case "choke-changed":
      case "protocol-error":
        return;
      default: {
        const never: never = event;
        void never;
      }
    }
  };
  const unsubscribe = session.subscribe(onEvent);

  for (const url of init.trackers) {
    try {
      const client = new TrackerClient<NodePeer>(
        { announceUrl: url, infoHash: init.infoHash, peerId },
        {
          createSocket: (u) => deps.createSocket(u),
          createPeer: (o) => deps.createPeer(o),
          randomBytes: (n) => deps.randomBytes(n),
          nowMs: () => deps.nowMs(),
          stats: () => {
            const s = session.snapshot();
            return { uploaded: s.uploadedBytes, downloaded: s.downloadedBytes, left: s.hasMetadata ? s.totalBytes - s.verifiedBytes : null };
          },
          wantedPeers: () => (stopped ? 0 : Math.max(0, maxPeers - transport.connectionCount)),
          onPeer: (peer, remote) => {
            if (stopped) {
              peer.destroy();
              return;
            }
            try {
              const id = transport.add(peer, remote.peerId.slice(0, 16));
              session.addConnection(id, remote.direction);
            } catch {
              peer.destroy();
            }
          },
          onChange: () => {
            const st = client.status;
            if (st.state === "retrying" || st.state === "failed") init.log(`tracker ${url}: ${st.message ?? st.state}`);
          },
        },
      );
      clients.push(client);
    } catch (err) {
      if (err instanceof TrackerUrlError) init.log(`skipping tracker: ${err.message}`);
      else throw err;
    }
  }
  if (clients.length === 0) {
    session.destroy();
    throw new NetworkError("no usable WebSocket tracker (ws:// or wss://) to find peers with");
  }

  timers.push(
    setInterval(() => {
      try {
        session.tick();
      } catch (err) {
        finish({ ok: false, error: err instanceof Error ? err : new Error(String(err)) });
      }
    }, deps.tickIntervalMs ?? 200),
  );
  timers.push(setInterval(() => transport.poll(), deps.pollIntervalMs ?? 10));
  timers.push(
    setInterval(() => {
      const s = session.snapshot();
      if (init.onStatus !== undefined) init.onStatus(s);
      else init.log(statusLine(s, init.mode));
    }, deps.statusIntervalMs ?? (init.onStatus === undefined ? 5000 : 500)),
  );
  const onAbort = (): void => finish({ ok: false, error: new InterruptedError() });
  init.signal.addEventListener("abort", onAbort, { once: true });

  for (const c of clients) c.start();
  if (init.mode === "download" && init.verified?.complete === true && !init.seedAfterDownload) finish({ ok: true });

  const outcome = await done;
  stopped = true;
  init.signal.removeEventListener("abort", onAbort);
  for (const t of timers) clearInterval(t);
  const snapshot = session.snapshot();
  for (const c of clients) c.stop();
  unsubscribe();
  session.destroy();
  transport.closeAll("stopping");
  await save();
  if (!outcome.ok) throw outcome.error;
  return { verified, uploadedBytes: snapshot.uploadedBytes, downloadedBytes: snapshot.downloadedBytes, peerId };
}

/** Production wiring: the real session, real clock, crypto randomness, wrtc peers and `ws` sockets. */
export async function runSwarm(init: SwarmRunInit): Promise<SwarmResult> {
  loadWrtc(); // fail now, clearly, rather than in every offer
  return runSwarmWith(init, {
    createSession: (sessionInit, components) => new TorrentSession(sessionInit, components),
    createSocket: createNodeSocket,
    createPeer: ({ initiator }) => createNodePeer({ initiator }),
    randomBytes: (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
    nowMs: () => Date.now(),
    monotonicMs: () => performance.now(),
  });
}
