// The contract between the swarm side of the browser app (web/swarm, web/adapters,
// web/workers: sessions, WebRTC, tracker, IndexedDB, hashing) and the UI side
// (web/state: the zustand store; web/ui: React). The UI never reaches into the
// engine: it calls TransferManager and reads the throttled TransferView projection.
import type { PeerSnapshot } from "../../core/engine/session-types.ts";

export type TransferStatus =
  | "hashing" // making a torrent from dropped files
  | "connecting" // waiting for the tracker / first peers
  | "fetching-metadata" // joined by link: getting the info dict from peers (BEP 9)
  | "downloading"
  | "seeding" // complete, uploading to others
  | "paused" // by the user, or storage full
  | "error";

export interface FileView {
  readonly index: number;
  /** Path inside the torrent, "/"-joined (folder shares include the folder name). */
  readonly path: string;
  readonly lengthBytes: number;
  /** 0..1 of this file's bytes verified. */
  readonly progress: number;
  readonly complete: boolean;
  readonly priority: "skip" | "normal" | "high";
  /** audio/video (by extension) the browser may play, while downloading where streamingSupport() allows */
  readonly streamable: boolean;
}

export interface TrackerView {
  readonly url: string;
  readonly state: "connecting" | "connected" | "retrying" | "failed";
  /** When state is retrying: next attempt at this epoch ms. */
  readonly retryAtMs: number | null;
  readonly message: string | null;
  readonly seeders: number | null;
  readonly leechers: number | null;
}

export interface SpeedSample {
  readonly atMs: number;
  readonly downloadBytesPerS: number;
  readonly uploadBytesPerS: number;
}

export interface TransferView {
  /** 40 hex chars. */
  readonly infoHash: string;
  readonly name: string;
  readonly status: TransferStatus;
  /** Human-readable reason when status is "error" or "paused" by a fault (storage full, ...). */
  readonly message: string | null;
  /**
   * Set when a failed piece write paused the transfer: "storage-full" (quota; what
   * is stored is kept, free space then Resume) or "storage-failed" (any other
   * storage error; `message` gives the browser's reason and says Resume retries).
   */
  readonly fault?: "storage-full" | "storage-failed";
  /** `<origin>/#magnet:?xt=urn:btih:<hex>&dn=<name>&tr=<ws url>` */
  readonly shareLink: string;
  readonly hashing: { readonly doneBytes: number; readonly totalBytes: number } | null;
  readonly totalBytes: number;
  readonly verifiedBytes: number;
  readonly files: readonly FileView[];
  readonly pieceCount: number;
  /** Per piece: 0 missing, 1 downloading, 2 verified (core PieceState). */
  readonly pieceStates: Uint8Array;
  /** Per piece: how many connected peers have it. */
  readonly availability: Uint16Array;
  readonly downloadRateBytesPerS: number;
  readonly uploadRateBytesPerS: number;
  readonly downloadedBytes: number;
  readonly uploadedBytes: number;
  /** Seconds to completion at the current rate; null when unknown or complete. */
  readonly etaS: number | null;
  /** Recent samples (about one a second, last ~2 minutes) for the speed chart. */
  readonly speedHistory: readonly SpeedSample[];
  readonly peers: readonly PeerSnapshot[];
  readonly bannedPeerCount: number;
  readonly trackers: readonly TrackerView[];
  /** Bytes this transfer keeps in IndexedDB. */
  readonly storedBytes: number;
  /** Wanted pieces no connected peer can give now (none has them, or those that announced them refused them); 0 when complete or before metadata. */
  readonly unavailablePieceCount: number;
  readonly unavailableBytes: number;
  /** Pieces this browser had that its storage no longer holds (cleared under the page), not downloaded again yet. */
  readonly lostPieceCount: number;
}

export interface StorageUsage {
  readonly usedBytes: number;
  readonly quotaBytes: number | null;
}

/** What the UI may ask of the swarm side. All methods are safe to call from event handlers. */
export interface TransferManager {
  /** Hash dropped files (several Web Workers, sliced reads), then seed. Rejects with AbortError when cancelled. */
  share(files: readonly { readonly file: File; readonly path: string }[], options?: { readonly signal?: AbortSignal; readonly name?: string }): Promise<string>;
  /** Open a share link fragment (magnet, bare 40-hex infohash) or a dropped .torrent. Throws a clear Error for bad links. */
  open(source: { readonly link: string } | { readonly torrentFile: File }): Promise<string>;
  remove(infoHash: string): Promise<void>;
  pause(infoHash: string): void;
  resume(infoHash: string): void;
  setFilePriority(infoHash: string, fileIndex: number, priority: "skip" | "normal" | "high"): void;
  /** A complete file as a Blob assembled from stored pieces (for a Save link). */
  fileBlob(infoHash: string, fileIndex: number): Promise<Blob>;
  /** A zip of the whole transfer, made by streaming (no whole copy in memory). */
  zipStream(infoHash: string): ReadableStream<Uint8Array>;
  /**
   * A URL a <video>/<audio> element can play: while downloading when
   * streamingSupport() resolves null (a /stream/ URL answered by the Service
   * Worker; the picker follows the player's reads), else a blob: URL resolved
   * once the whole file is downloaded.
   */
  streamUrl(infoHash: string, fileIndex: number): Promise<string>;
  /** Resolves with null when media plays while downloading, else with why it plays only once complete. */
  streamingSupport(): Promise<string | null>;
  storageUsage(): Promise<StorageUsage>;
  /**
   * Caps the upload of each transfer, running now or started later, to this many
   * bytes/s (the session's own rate limiter); null lifts the cap.
   * Throws RangeError unless null or a finite number above 0.
   */
  setUploadLimit(bytesPerS: number | null): void;
  /** Called with the full list of transfers, throttled (about 4 times a second). */
  subscribe(listener: (transfers: readonly TransferView[]) => void): () => void;
  /** Reason the browser cannot run SwarmDrop (no WebRTC, no IndexedDB), or null. */
  readonly unsupportedReason: string | null;
}
