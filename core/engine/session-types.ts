// The contract between the torrent session (core/engine/session.ts) and its
// users: the browser app's adapters, the headless Node peer and the simulator.
// The session does no I/O: bytes, timer ticks and storage results go in;
// bytes to send, pieces to store and events come out through these interfaces.
import type { Clock } from "../clock.ts";
import type { InfoHash, PeerId, PieceIndex } from "../ids.ts";
import type { TorrentInfo } from "../metainfo.ts";
import type { Random } from "../random.ts";
import type { EngineTuning } from "./settings.ts";

declare const connectionBrand: unique symbol;
/** One transport connection (a data channel) as the adapter names it. */
export type ConnectionId = string & { readonly [connectionBrand]: "ConnectionId" };
export function connectionId(text: string): ConnectionId {
  if (text.length === 0 || text.length > 128) throw new RangeError("a connection id is 1-128 characters");
  return text as ConnectionId;
}

export type FilePriority = "skip" | "normal" | "high";

/** Where verified pieces live (IndexedDB in the browser, files in the CLI, memory in the simulator). */
export interface PieceStore {
  /** Reads `length` bytes at `offset` within verified piece `index`. */
  read(index: PieceIndex, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Stores one verified piece. Rejects with StorageFullError (below) when out of
   * space: the session then pauses downloading, keeps what is stored, and says so.
   * The store may keep `data` itself: the caller must not change it afterwards.
   */
  write(index: PieceIndex, data: Uint8Array): Promise<void>;
}

export class StorageFullError extends Error {
  override name = "StorageFullError";
}

/** How the session reaches its connections. */
export interface SessionTransport {
  /**
   * Queues bytes on a connection: wire frames or parts of one, at most 256 KiB
   * per call, in stream order. The arrays may view the store's or the
   * session's buffers: send or copy them, never change them.
   */
  send(id: ConnectionId, bytes: Uint8Array): void;
  /** Closes a connection; the adapter calls removeConnection when it is gone. */
  close(id: ConnectionId, reason: string): void;
  /** Bytes queued but not yet sent: the session holds back piece data past its high-water mark. */
  bufferedBytes(id: ConnectionId): number;
}

export interface SessionInit {
  readonly infoHash: InfoHash;
  readonly localPeerId: PeerId;
  /** Known when seeding or opened from a .torrent; null when joined from a magnet link (fetched via BEP 9). */
  readonly info: TorrentInfo | null;
  /** Pieces already verified and stored (resume), as a BEP 3 bitfield. */
  readonly verified?: Uint8Array;
  /** Settings beyond the defaults: the contract's EngineSettings and the engine's finer tuning (settings.ts). */
  readonly settings?: Partial<EngineSettings & EngineTuning>;
}

export interface SessionComponents {
  readonly clock: Clock;
  readonly random: Random;
  readonly store: PieceStore;
  readonly transport: SessionTransport;
  /** SHA-1 used to verify pieces; defaults to crypto.subtle via core/bytes.ts. */
  readonly sha1?: (data: Uint8Array) => Promise<Uint8Array>;
}

export interface EngineSettings {
  /** Regular tit-for-tat upload slots (Cohen 2003: 4). */
  readonly uploadSlots: number;
  readonly rechokeIntervalMs: number;
  readonly optimisticUnchokeIntervalMs: number;
  /** No block received for this long: the peer is snubbing us (anti-snubbing). */
  readonly snubTimeoutMs: number;
  /** Window of the rolling transfer rates used by the choker. */
  readonly rateWindowMs: number;
  /** Seed-mode choking: by upload rate, round-robin, or the peers with the fewest pieces first (choker.ts). */
  readonly seedChoking: "fastest-upload" | "round-robin" | "least-progress";
  /** Pieces picked at random before switching to rarest first. */
  readonly randomFirstPieces: number;
  /** Requests in flight per peer cover this many ms of its rate... */
  readonly requestQueueTargetMs: number;
  /** ...but never fewer than this or more than the max. */
  readonly minRequestsInFlight: number;
  readonly maxRequestsInFlight: number;
  readonly requestTimeoutMs: number;
  /** Hash failures a peer may contribute to before it is banned. */
  readonly banAfterHashFailures: number;
  /** Bytes queued on a connection past which piece data is held back. */
  readonly sendHighWaterBytes: number;
  readonly keepAliveIntervalMs: number;
  /** Nothing received for this long: the connection is dropped (liveness). */
  readonly idleTimeoutMs: number;
  /** Largest info dict accepted over BEP 9. */
  readonly maxMetadataBytes: number;
  /** Upload limit in bytes/s; null for none. */
  readonly uploadLimitBytesPerS: number | null;
}

export type SessionEvent =
  | { readonly type: "metadata"; readonly info: TorrentInfo }
  | { readonly type: "peer-joined"; readonly id: ConnectionId; readonly peerId: PeerId; readonly client: string | null }
  | { readonly type: "peer-left"; readonly id: ConnectionId; readonly reason: string }
  | { readonly type: "peer-banned"; readonly id: ConnectionId; readonly peerId: PeerId | null; readonly reason: string }
  | { readonly type: "piece-verified"; readonly index: PieceIndex }
  | { readonly type: "piece-failed"; readonly index: PieceIndex; readonly contributors: readonly ConnectionId[] }
  | { readonly type: "choke-changed"; readonly id: ConnectionId; readonly amChoking: boolean; readonly optimistic: boolean }
  | { readonly type: "completed" }
  /**
   * paused: a write failed and downloading stopped (storage full, or failing).
   * Not paused: verified pieces could no longer be read back (storage cleared
   * under us); they are marked missing and downloaded again (lostPieceCount).
   */
  | { readonly type: "storage-error"; readonly message: string; readonly paused: boolean }
  | { readonly type: "protocol-error"; readonly id: ConnectionId; readonly message: string };

export interface PeerSnapshot {
  readonly id: ConnectionId;
  readonly peerId: PeerId | null;
  readonly client: string | null;
  readonly amChoking: boolean;
  readonly amInterested: boolean;
  readonly peerChoking: boolean;
  readonly peerInterested: boolean;
  /** We unchoked this peer as the optimistic unchoke. */
  readonly optimistic: boolean;
  readonly snubbed: boolean;
  readonly downloadRateBytesPerS: number;
  readonly uploadRateBytesPerS: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Fraction of pieces the peer has, 0..1; null before its bitfield (or before metadata). */
  readonly progress: number | null;
  readonly requestsInFlight: number;
}

export const PieceState = { missing: 0, downloading: 1, verified: 2 } as const;

export interface SessionSnapshot {
  readonly infoHash: InfoHash;
  readonly hasMetadata: boolean;
  readonly pieceCount: number;
  readonly verifiedCount: number;
  /** Per piece: PieceState values. */
  readonly pieceStates: Uint8Array;
  /** Per piece: how many connected peers have it. */
  readonly availability: Uint16Array;
  readonly totalBytes: number;
  readonly verifiedBytes: number;
  /** Payload bytes received and sent (blocks), for rates, ratio and the tracker's uploaded/downloaded. */
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  readonly downloadRateBytesPerS: number;
  readonly uploadRateBytesPerS: number;
  readonly peers: readonly PeerSnapshot[];
  readonly complete: boolean;
  readonly paused: boolean;
  readonly bannedPeerCount: number;
  /**
   * Wanted pieces we lack that no connected peer can give us now (none has
   * them, or each that announced them rejected them recently); 0 before the
   * metadata and once complete. Skipped files' pieces do not count.
   */
  readonly unavailablePieceCount: number;
  /** The bytes of those pieces. */
  readonly unavailableBytes: number;
  /** Pieces we had verified that storage could no longer read, not downloaded again yet. */
  readonly lostPieceCount: number;
}

/** What the adapters drive. core/engine/session.ts implements it. */
export interface TorrentSessionApi {
  readonly info: TorrentInfo | null;
  /** A data channel opened: the session sends its handshake. */
  addConnection(id: ConnectionId, direction: "outbound" | "inbound"): void;
  /** Bytes arrived on a connection, in any chunking. */
  receive(id: ConnectionId, bytes: Uint8Array): void;
  /** The connection is gone (remote close or transport failure). */
  removeConnection(id: ConnectionId): void;
  /** The transport drained below its low-water mark: the session may send more piece data. */
  drained(id: ConnectionId): void;
  /** Timers: call every 100-250 ms; all time comes from components.clock. */
  tick(): void;
  setFilePriority(fileIndex: number, priority: FilePriority): void;
  /** Streaming: the player's position; null leaves streaming mode. */
  setPlayhead(position: { readonly fileIndex: number; readonly byteOffset: number } | null): void;
  setUploadLimit(bytesPerS: number | null): void;
  pause(): void;
  resume(): void;
  /** Closes every connection and stops all timers' work. */
  destroy(): void;
  subscribe(listener: (event: SessionEvent) => void): () => void;
  snapshot(): SessionSnapshot;
}
