// BEP 9 ut_metadata: fetching the info dict from peers (magnet links).
//
// Messages are extended messages (BEP 10) whose payload is a bencoded dict
// {msg_type: 0 request | 1 data | 2 reject, piece, total_size (data only)},
// a data message followed by the piece's raw bytes. The info dict is cut into
// 16 KiB pieces; only the last may be shorter.
import { BencodeError, decodePrefix, dict, encode, isDict, isInt, type BValue } from "../bencode.ts";
import { bytesEqual, concatBytes, sha1, toHex } from "../bytes.ts";
import type { InfoHash } from "../ids.ts";
import { ProtocolViolation } from "./errors.ts";
import { defaultMaxMetadataBytes } from "./extension.ts";

/** BEP 9: metadata pieces are 16 KiB. */
export const metadataPieceBytes = 16 * 1024;

export const MetadataMsgType = { request: 0, data: 1, reject: 2 } as const;

export type MetadataMessage =
  | { readonly type: "request"; readonly piece: number }
  | { readonly type: "data"; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: "reject"; readonly piece: number };

export function metadataPieceCount(totalSize: number): number {
  return Math.ceil(totalSize / metadataPieceBytes);
}

/** Length of metadata piece `piece` of an info dict of `totalSize` bytes. */
export function metadataPieceLength(totalSize: number, piece: number): number {
  return Math.min(metadataPieceBytes, totalSize - piece * metadataPieceBytes);
}

/** The payload of a ut_metadata extended message (without the BEP 10 id byte). */
export function encodeMetadataMessage(msg: MetadataMessage): Uint8Array {
  switch (msg.type) {
    case "request":
      return encode(dict({ msg_type: MetadataMsgType.request, piece: msg.piece }));
    case "reject":
      return encode(dict({ msg_type: MetadataMsgType.reject, piece: msg.piece }));
    case "data":
      return concatBytes([encode(dict({ msg_type: MetadataMsgType.data, piece: msg.piece, total_size: msg.totalSize })), msg.data]);
  }
}

/**
 * Parses and validates a ut_metadata payload (BEP 9). Returns null for an
 * unknown msg_type (BEP 9: "unrecognized message IDs MUST be ignored").
 * Data must be exactly the piece's length for its total_size.
 * Throws ProtocolViolation: "malformed-bencode", "bad-metadata-message", "metadata-too-large".
 */
export function parseMetadataMessage(payload: Uint8Array, maxMetadataBytes: number = defaultMaxMetadataBytes): MetadataMessage | null {
  let value: BValue;
  let end: number;
  try {
    ({ value, end } = decodePrefix(payload, { maxDepth: 4 }));
  } catch (err) {
    if (err instanceof BencodeError) throw new ProtocolViolation("malformed-bencode", `ut_metadata: ${err.message}`);
    throw err;
  }
  if (!isDict(value)) throw new ProtocolViolation("bad-metadata-message", "ut_metadata message is not a dict");
  const msgType = value["msg_type"];
  const piece = value["piece"];
  if (!isInt(msgType)) throw new ProtocolViolation("bad-metadata-message", "msg_type is not an integer");
  if (!isInt(piece) || piece < 0 || piece >= metadataPieceCount(maxMetadataBytes)) {
    throw new ProtocolViolation("bad-metadata-message", "piece is not an integer within the metadata bound");
  }
  const tail = payload.subarray(end);
  switch (msgType) {
    case MetadataMsgType.request:
    case MetadataMsgType.reject:
      if (tail.length !== 0) throw new ProtocolViolation("bad-metadata-message", "bytes after a request or reject");
      return { type: msgType === MetadataMsgType.request ? "request" : "reject", piece };
    case MetadataMsgType.data: {
      const totalSize = value["total_size"];
      if (!isInt(totalSize) || totalSize < 1) throw new ProtocolViolation("bad-metadata-message", "total_size must be a positive integer");
      if (totalSize > maxMetadataBytes) throw new ProtocolViolation("metadata-too-large", `total_size ${totalSize} exceeds the ${maxMetadataBytes}-byte bound`);
      if (piece >= metadataPieceCount(totalSize)) throw new ProtocolViolation("bad-metadata-message", `piece ${piece} is beyond total_size ${totalSize}`);
      const expected = metadataPieceLength(totalSize, piece);
      if (tail.length !== expected) throw new ProtocolViolation("bad-metadata-message", `metadata piece ${piece} must be ${expected} bytes, got ${tail.length}`);
      return { type: "data", piece, totalSize, data: tail };
    }
    default:
      return null;
  }
}

// ---- serving (the side that has the info dict) --------------------------------

/**
 * Answers one ut_metadata request from our info dict: the piece's data, or a
 * reject when we do not have the metadata or the piece is out of range (BEP 9).
 */
export function answerMetadataRequest(infoBytes: Uint8Array | null, piece: number): MetadataMessage {
  if (infoBytes === null || !Number.isInteger(piece) || piece < 0 || piece >= metadataPieceCount(infoBytes.length)) {
    return { type: "reject", piece };
  }
  const start = piece * metadataPieceBytes;
  return { type: "data", piece, totalSize: infoBytes.length, data: infoBytes.subarray(start, start + metadataPieceBytes) };
}

// ---- fetching (joined from a magnet link) --------------------------------------

export interface MetadataFetcherInit {
  readonly infoHash: InfoHash;
  /** Largest info dict accepted (default 16 MiB). */
  readonly maxMetadataBytes?: number;
  /** A request unanswered this long goes to another peer. */
  readonly requestTimeoutMs?: number;
  /** Requests in flight per peer. */
  readonly maxRequestsPerPeer?: number;
  /** A peer that rejected or timed out on a piece is not asked for it again for this long. */
  readonly retryAfterMs?: number;
  /** SHA-1; defaults to core/bytes.ts (WebCrypto). */
  readonly sha1?: (data: Uint8Array) => Promise<Uint8Array>;
}

export interface MetadataRequestIntent<K> {
  readonly peer: K;
  readonly piece: number;
}

export type MetadataDataResult =
  /** Stored; more pieces are missing. */
  | "stored"
  /** Stored, and every piece is in: call verify(). */
  | "complete"
  /** Not a piece we asked this peer for (late after a timeout, or never asked): ignored. */
  | "unrequested"
  /** total_size differs from the size being fetched: ignored, and the peer is not asked again. */
  | "size-mismatch";

export type MetadataVerifyResult<K> =
  /**
   * The dict hashes to the infohash. `liars`: peers whose pieces in an earlier
   * failed attempt differ from the verified dict (named only now, when there
   * is a true dict to compare with).
   */
  | { readonly ok: true; readonly infoBytes: Uint8Array; readonly liars: readonly K[] }
  /**
   * SHA-1 mismatch: everything is discarded. A lone contributor is a proven
   * liar (`liar`) and is not asked again. Several contributors cannot be told
   * apart, so none is blamed; every later attempt then takes all its pieces
   * from one peer, and the next failure names its liar.
   */
  | { readonly ok: false; readonly contributors: readonly K[]; readonly liar: K | null };

interface FetchPeer {
  readonly size: number;
  outstanding: number;
  /** piece -> time before which this peer is not asked for it again. */
  readonly avoid: Map<number, number>;
}

interface Attempt<K> {
  readonly size: number;
  readonly buffer: Uint8Array;
  readonly received: Uint8Array;
  receivedCount: number;
  /** piece -> who sent it. */
  readonly from: Map<number, K>;
  /** piece -> the request in flight. */
  readonly inFlight: Map<number, { readonly peer: K; readonly sentAtMs: number }>;
  /** After a failed attempt with several sources: the one peer this attempt asks. */
  readonly soloPeer: K | null;
}

/**
 * BEP 9 fetch of the info dict from several peers at once. The session tells
 * it which peers offer metadata (metadata_size from their extended
 * handshakes), sends the requests it hands out, and feeds back data, rejects
 * and ticks. Pieces go to the least-loaded peer; rejected or timed-out pieces
 * go to others. When all pieces are in, verify() checks SHA-1 == infohash.
 *
 * Peers may disagree on metadata_size: the size most peers announce is
 * fetched; a source that fails verification alone is dropped, and once the
 * peers of one size are all dropped the next size is tried. A failure with
 * several sources switches to one source per attempt (no honest peer is
 * dropped for a liar's pieces, and each further failure names a liar).
 * Memory: one buffer of at most maxMetadataBytes.
 */
export class MetadataFetcher<K = string> {
  readonly infoHash: InfoHash;
  readonly maxMetadataBytes: number;
  readonly requestTimeoutMs: number;
  readonly maxRequestsPerPeer: number;
  readonly retryAfterMs: number;
  readonly #sha1: (data: Uint8Array) => Promise<Uint8Array>;
  readonly #peers = new Map<K, FetchPeer>();
  /** Peers that contributed to a failed attempt or lied about the size: never asked again. */
  readonly #excluded = new Set<K>();
  #attempt: Attempt<K> | null = null;
  #verified: Uint8Array | null = null;
  /** Set by a failed attempt with several sources: from then on each attempt asks one peer. */
  #singleSource = false;
  /** The last failed attempts with several sources, kept to name their liars once the true dict is known. */
  #failed: Attempt<K>[] = [];

  constructor(init: MetadataFetcherInit) {
    this.infoHash = init.infoHash;
    this.maxMetadataBytes = init.maxMetadataBytes ?? defaultMaxMetadataBytes;
    this.requestTimeoutMs = init.requestTimeoutMs ?? 10_000;
    this.maxRequestsPerPeer = init.maxRequestsPerPeer ?? 2;
    this.retryAfterMs = init.retryAfterMs ?? 30_000;
    this.#sha1 = init.sha1 ?? sha1;
  }

  /** The verified info dict, once verify() succeeded. */
  get infoBytes(): Uint8Array | null {
    return this.#verified;
  }

  /** The size being fetched, once chosen. */
  get metadataSize(): number | null {
    return this.#attempt?.size ?? null;
  }

  get receivedPieces(): number {
    return this.#attempt?.receivedCount ?? 0;
  }

  get pieceCount(): number | null {
    return this.#attempt === null ? null : metadataPieceCount(this.#attempt.size);
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /**
   * A peer offering metadata of `metadataSize` bytes (BEP 9 metadata_size).
   * Returns false (and ignores the peer) when the size is out of bounds or the peer is excluded.
   */
  addPeer(peer: K, metadataSize: number): boolean {
    if (!Number.isSafeInteger(metadataSize) || metadataSize < 1 || metadataSize > this.maxMetadataBytes) return false;
    if (this.#excluded.has(peer) || this.#verified !== null) return false;
    const existing = this.#peers.get(peer);
    if (existing !== undefined && existing.size === metadataSize) return true;
    if (existing !== undefined) this.removePeer(peer);
    this.#peers.set(peer, { size: metadataSize, outstanding: 0, avoid: new Map() });
    return true;
  }

  /** The peer is gone: its requests in flight are handed to others. */
  removePeer(peer: K): void {
    if (!this.#peers.delete(peer)) return;
    const attempt = this.#attempt;
    if (attempt === null) return;
    if (attempt.soloPeer === peer) {
      // Its pieces cannot be completed from another source without mixing again: start over.
      this.#attempt = null;
      return;
    }
    for (const [piece, r] of attempt.inFlight) if (r.peer === peer) attempt.inFlight.delete(piece);
  }

  /**
   * Requests to send now (the session calls sendMetadataRequest on each peer's
   * connection). Each missing piece not in flight goes to the eligible peer
   * with the fewest requests in flight.
   */
  nextRequests(nowMs: number): MetadataRequestIntent<K>[] {
    if (this.#verified !== null) return [];
    if (this.#attempt !== null && this.#peers.size > 0) {
      const size = this.#attempt.size;
      // Every peer offering this size is gone or excluded: start over with the size the others offer.
      if (![...this.#peers.values()].some((p) => p.size === size)) this.#attempt = null;
    }
    const attempt = this.#attempt ?? this.#startAttempt();
    if (attempt === null || attempt.receivedCount === metadataPieceCount(attempt.size)) return [];
    const out: MetadataRequestIntent<K>[] = [];
    const count = metadataPieceCount(attempt.size);
    for (let piece = 0; piece < count; piece++) {
      if (attempt.received[piece] === 1 || attempt.inFlight.has(piece)) continue;
      let best: [K, FetchPeer] | null = null;
      for (const entry of this.#peers) {
        const [, p] = entry;
        if (p.size !== attempt.size || p.outstanding >= this.maxRequestsPerPeer) continue;
        if (attempt.soloPeer !== null && entry[0] !== attempt.soloPeer) continue;
        const until = p.avoid.get(piece);
        if (until !== undefined && until > nowMs) continue;
        if (best === null || p.outstanding < best[1].outstanding) best = entry;
      }
      if (best === null) continue;
      const [peer, p] = best;
      p.avoid.delete(piece);
      p.outstanding++;
      attempt.inFlight.set(piece, { peer, sentAtMs: nowMs });
      out.push({ peer, piece });
    }
    return out;
  }

  /** A data message (already validated by parseMetadataMessage). */
  onData(peer: K, piece: number, totalSize: number, data: Uint8Array): MetadataDataResult {
    const attempt = this.#attempt;
    const r = attempt?.inFlight.get(piece);
    if (attempt === null || r === undefined || r.peer !== peer) return "unrequested";
    attempt.inFlight.delete(piece);
    const p = this.#peers.get(peer);
    if (p !== undefined) p.outstanding--;
    if (totalSize !== attempt.size || data.length !== metadataPieceLength(attempt.size, piece)) {
      this.#exclude(peer);
      return "size-mismatch";
    }
    attempt.buffer.set(data, piece * metadataPieceBytes);
    if (attempt.received[piece] !== 1) {
      attempt.received[piece] = 1;
      attempt.receivedCount++;
    }
    attempt.from.set(piece, peer);
    return attempt.receivedCount === metadataPieceCount(attempt.size) ? "complete" : "stored";
  }

  /** A reject (BEP 9): the piece goes to another peer; this one is not asked for it for retryAfterMs. */
  onReject(peer: K, piece: number, nowMs: number): void {
    this.#release(peer, piece, nowMs);
  }

  /** Requests older than requestTimeoutMs are released to other peers. */
  tick(nowMs: number): void {
    const attempt = this.#attempt;
    if (attempt === null) return;
    for (const [piece, r] of attempt.inFlight) {
      if (nowMs - r.sentAtMs >= this.requestTimeoutMs) this.#release(r.peer, piece, nowMs);
    }
  }

  /**
   * Once every piece is in: SHA-1 of the assembled info dict against the
   * infohash (BEP 9). On success the bytes are kept (infoBytes); on failure
   * the attempt is discarded and its contributors excluded.
   */
  async verify(): Promise<MetadataVerifyResult<K>> {
    if (this.#verified !== null) return { ok: true, infoBytes: this.#verified, liars: [] };
    const attempt = this.#attempt;
    if (attempt === null || attempt.receivedCount !== metadataPieceCount(attempt.size)) {
      throw new RangeError("verify() needs every metadata piece");
    }
    const digest = await this.#sha1(attempt.buffer);
    if (this.#attempt !== attempt) throw new RangeError("the attempt changed during verification");
    if (toHex(digest) === this.infoHash) {
      this.#verified = attempt.buffer;
      this.#attempt = null;
      this.#peers.clear();
      const liars = this.#liarsAgainst(attempt.buffer);
      this.#failed = [];
      return { ok: true, infoBytes: attempt.buffer, liars };
    }
    const contributors = [...new Set(attempt.from.values())];
    this.#attempt = null;
    const liar = contributors.length === 1 ? contributors[0]! : null;
    if (liar !== null) this.#exclude(liar);
    else {
      this.#singleSource = true;
      // Bounded: two failed buffers of at most maxMetadataBytes each.
      this.#failed = [...this.#failed.slice(-1), attempt];
    }
    return { ok: false, contributors, liar };
  }

  /** Senders of pieces, in the failed attempts of the verified size, that differ from the verified dict. */
  #liarsAgainst(truth: Uint8Array): K[] {
    const liars = new Set<K>();
    for (const failed of this.#failed) {
      if (failed.size !== truth.length) continue;
      for (const [piece, peer] of failed.from) {
        const start = piece * metadataPieceBytes;
        const end = start + metadataPieceLength(failed.size, piece);
        if (!bytesEqual(failed.buffer.subarray(start, end), truth.subarray(start, end))) liars.add(peer);
      }
    }
    return [...liars];
  }

  #startAttempt(): Attempt<K> | null {
    const votes = new Map<number, number>();
    for (const p of this.#peers.values()) votes.set(p.size, (votes.get(p.size) ?? 0) + 1);
    let size: number | null = null;
    for (const [s, n] of votes) if (size === null || n > votes.get(size)!) size = s;
    if (size === null) return null;
    let soloPeer: K | null = null;
    if (this.#singleSource) {
      for (const [peer, p] of this.#peers) {
        if (p.size === size) {
          soloPeer = peer;
          break;
        }
      }
    }
    const count = metadataPieceCount(size);
    this.#attempt = { size, buffer: new Uint8Array(size), received: new Uint8Array(count), receivedCount: 0, from: new Map(), inFlight: new Map(), soloPeer };
    return this.#attempt;
  }

  #release(peer: K, piece: number, nowMs: number): void {
    const attempt = this.#attempt;
    const r = attempt?.inFlight.get(piece);
    if (attempt === null || r === undefined || r.peer !== peer) return;
    attempt.inFlight.delete(piece);
    const p = this.#peers.get(peer);
    if (p === undefined) return;
    p.outstanding--;
    p.avoid.set(piece, nowMs + this.retryAfterMs);
  }

  #exclude(peer: K): void {
    this.removePeer(peer);
    this.#excluded.add(peer);
    // Bounded: a peer key is excluded once; the session holds fewer connections than this.
    if (this.#excluded.size > 10_000) {
      const first = this.#excluded.values().next();
      if (first.done !== true) this.#excluded.delete(first.value);
    }
  }
}
