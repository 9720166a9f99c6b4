// One peer connection's protocol state machine, with no I/O.
//
// Bytes in (receive) -> typed events out; intents in (choke(), request(), ...)
// -> frames queued, taken as coalesced chunks (takeOutgoing). Time comes from
// the Clock passed in; keep-alives and timeouts are driven by tick().
//
// Everything the peer sends is validated here. A protocol violation yields one
// `violation` event, closes this connection (receive() then returns nothing,
// intents do nothing) and touches nothing else. Every buffer a peer can grow
// is bounded (frames, pending requests, pre-metadata availability, rejects).
//
// Typical use by the session:
//   outbound: sendHandshake(); on `handshake`: sendExtendedHandshake(), bitfield()/haveAll()/haveNone()
//   inbound:  on `handshake`: sendHandshake(), sendExtendedHandshake(), bitfield()...
//   after every receive()/intent/tick(): send takeOutgoing() chunks until null.
import type { Clock } from "../clock.ts";
import { idToBytes, type InfoHash, type PeerId, type PieceIndex } from "../ids.ts";
import { bytesEqual } from "../bytes.ts";
import { Bitfield, bitfieldBytes } from "./bitfield.ts";
import { defaultMaxFrameBytes, encodeHandshake, encodeMessage, encodePieceHeader, FrameDecoder, makeHandshake, maxAgreedBlockBytes, type DecodedFrame } from "./codec.ts";
import { ProtocolViolation, WireUsageError } from "./errors.ts";
import { clientName, defaultMaxMetadataBytes, encodeExtendedHandshake, extendedHandshakeId, parseExtendedHandshake, utMetadataName } from "./extension.ts";
import { blockLengthBytes, MessageId, type Handshake, type WireMessage } from "./messages.ts";
import { encodeMetadataMessage, metadataPieceBytes, metadataPieceCount, parseMetadataMessage, type MetadataMessage } from "./metadata.ts";
import { RateMeter } from "./rate.ts";

export type Direction = "outbound" | "inbound";

/** What we offer in our handshakes. */
export interface LocalExtensions {
  /** Our extended message id for ut_metadata (BEP 9), 1..255; null to not offer BEP 9. */
  readonly utMetadataId: number | null;
  /** Our info dict's size (BEP 9 metadata_size) when we have it. */
  readonly metadataSize: number | null;
  /** BEP 10 `v`, e.g. "SwarmDrop 0.1". */
  readonly client: string;
  /** BEP 10 `reqq`: how many of the peer's requests we queue. */
  readonly reqq: number;
}

export const defaultLocalExtensions: LocalExtensions = { utMetadataId: 1, metadataSize: null, client: clientName, reqq: 250 };

export interface PeerLimits {
  /** Largest frame length prefix accepted (a larger one is a violation before buffering). */
  readonly maxFrameBytes: number;
  /** Largest block the peer may request from us (16 KiB by default; never above 128 KiB). */
  readonly maxBlockBytes: number;
  /** Their requests to us pending at once; beyond is "request-flood". */
  readonly maxPendingRemoteRequests: number;
  /** Largest info dict accepted over BEP 9 (metadata_size, total_size). */
  readonly maxMetadataBytes: number;
  /** A keep-alive is queued after this much silence on our side (BEP 3: about 2 min is the norm). */
  readonly keepAliveIntervalMs: number;
  /** Nothing received for this long: `timeout` violation. */
  readonly idleTimeoutMs: number;
  /** No handshake received this long after construction: `timeout` violation. */
  readonly handshakeTimeoutMs: number;
  /** A block we cancelled, or that was rejected or choked away, may still arrive this long after: dropped silently. */
  readonly lateBlockGraceMs: number;
  /** Window of the download/upload RateMeters. */
  readonly rateWindowMs: number;
}

export const defaultPeerLimits: PeerLimits = {
  maxFrameBytes: defaultMaxFrameBytes,
  maxBlockBytes: blockLengthBytes,
  maxPendingRemoteRequests: 500,
  maxMetadataBytes: defaultMaxMetadataBytes,
  keepAliveIntervalMs: 60_000,
  idleTimeoutMs: 150_000,
  handshakeTimeoutMs: 30_000,
  lateBlockGraceMs: 30_000,
  rateWindowMs: 20_000,
};

export interface PeerConnectionInit {
  readonly infoHash: InfoHash;
  readonly localPeerId: PeerId;
  readonly direction: Direction;
  readonly localExtensions?: Partial<LocalExtensions>;
  readonly limits?: Partial<PeerLimits>;
  /** Offer the fast extension (BEP 6); default true, as WebTorrent does. */
  readonly fastExtension?: boolean;
}

/** The torrent's shape, known once we have the metadata. */
export interface TorrentShape {
  readonly pieceCount: number;
  readonly pieceLength: number;
  readonly totalLength: number;
}

export interface BlockRequest {
  readonly index: PieceIndex;
  readonly begin: number;
  readonly length: number;
}
export interface OutgoingRequest extends BlockRequest {
  readonly sentAtMs: number;
}
export interface IncomingRequest extends BlockRequest {
  readonly receivedAtMs: number;
}

export type PeerEvent =
  | { readonly type: "handshake"; readonly peerId: PeerId; readonly reserved: Uint8Array; readonly extensionProtocol: boolean; readonly fastExtension: boolean }
  /** BEP 10. `m` is the peer's full current map (later handshakes update it). */
  | {
      readonly type: "extended-handshake";
      readonly m: ReadonlyMap<string, number>;
      readonly metadataSize: number | null;
      readonly client: string | null;
      readonly reqq: number | null;
    }
  | { readonly type: "keep-alive" }
  /** Without BEP 6, choke drops all our requests in flight: they are listed so the session re-picks them. */
  | { readonly type: "choke"; readonly droppedRequests: readonly BlockRequest[] }
  | { readonly type: "unchoke" }
  | { readonly type: "interested" }
  | { readonly type: "not-interested" }
  /** Only for pieces newly announced. */
  | { readonly type: "have"; readonly index: PieceIndex }
  /**
   * The remote's availability. Also emitted by setTorrentShape() for what
   * arrived before the shape was known (bitfield, have_all, have_none, haves).
   */
  | { readonly type: "bitfield"; readonly bitfield: Bitfield }
  | { readonly type: "have-all" }
  | { readonly type: "have-none" }
  /** A valid request we accepted (we are unchoking them, or it is allowed fast). */
  | { readonly type: "request"; readonly index: PieceIndex; readonly begin: number; readonly length: number }
  /** A block we requested. `requestedAtMs` is when our request was sent. */
  | { readonly type: "piece"; readonly index: PieceIndex; readonly begin: number; readonly block: Uint8Array; readonly requestedAtMs: number }
  /** They cancelled a pending request of theirs (with BEP 6 we already queued the reject). */
  | { readonly type: "cancel"; readonly index: PieceIndex; readonly begin: number; readonly length: number }
  /** BEP 6: our request will not be served; re-pick it. */
  | { readonly type: "reject"; readonly index: PieceIndex; readonly begin: number; readonly length: number }
  | { readonly type: "allowed-fast"; readonly index: PieceIndex }
  | { readonly type: "suggest"; readonly index: PieceIndex }
  | { readonly type: "metadata-request"; readonly piece: number }
  | { readonly type: "metadata-data"; readonly piece: number; readonly totalSize: number; readonly data: Uint8Array }
  | { readonly type: "metadata-reject"; readonly piece: number }
  /** The connection is closed; nothing follows. */
  | { readonly type: "violation"; readonly error: ProtocolViolation };

export type PeerEventType = PeerEvent["type"];

/** Default chunk size of takeOutgoing (Chromium's data-channel max-message-size is 256 KiB). */
export const defaultOutgoingChunkBytes = 256 * 1024;
/** Deferred allowed_fast / suggest messages kept before the shape is known. */
const maxDeferredHints = 256;
/** Bound on remembered cancelled/rejected requests (grace window entries). */
const maxGraceEntries = 4096;
/** Bound on an extended message's bencoded payload: a ut_metadata data message is 16 KiB plus a small dict. */
export const maxExtendedPayloadBytes = metadataPieceBytes + 1024;
/** Bound on a message of an id we do not know (e.g. BEP 5 port, 2 bytes); it is skipped. */
const maxUnknownPayloadBytes = 16 * 1024;
/** ut_metadata requests a peer may send over a connection: this many, plus this many per piece we announced. */
const maxMetadataRequestsBase = 64;
const maxMetadataRequestsPerPiece = 4;
/** Bytes of a piece hash in the info dict: bounds the piece count before metadata. */
const pieceHashBytes = 20;

interface GraceEntry {
  untilMs: number;
  answers: number;
  pieces: number;
}

const keyOf = (index: number, begin: number, length: number): string => `${index}:${begin}:${length}`;

export class PeerConnection {
  readonly infoHash: InfoHash;
  readonly localPeerId: PeerId;
  readonly direction: Direction;
  readonly limits: PeerLimits;
  readonly localExtensions: LocalExtensions;
  readonly #clock: Clock;
  readonly #localFast: boolean;
  readonly #decoder: FrameDecoder;

  #closed = false;
  #closeReason: ProtocolViolation | string | null = null;
  #handshakeSent = false;
  #remote: Handshake | null = null;
  #remoteExtensions = new Map<string, number>();
  #remoteClient: string | null = null;
  #remoteReqq: number | null = null;
  #remoteMetadataSize: number | null = null;
  #extendedHandshakeReceived = false;

  #amChoking = true;
  #amInterested = false;
  #peerChoking = true;
  #peerInterested = false;

  #shape: TorrentShape | null = null;
  #remoteBitfield: Bitfield | null = null;
  /** Whether a bitfield / have_all / have_none arrived (BEP 3/6: only one). */
  #availabilityReceived = false;
  /** Before the shape is known: what the peer announced. */
  #early: { bits: Uint8Array | null; haveAll: boolean; haves: Uint8Array; maxHave: number; hints: WireMessage[] } = {
    bits: null,
    haveAll: false,
    haves: new Uint8Array(0),
    maxHave: -1,
    hints: [],
  };

  readonly #ourRequests = new Map<string, OutgoingRequest>();
  readonly #theirRequests = new Map<string, IncomingRequest>();
  /**
   * Requests of ours that ended while an answer may still be on its way, per
   * block, until untilMs (Map order is expiry order). Each late answer uses one credit:
   * - `answers`: we cancelled it; a piece or (BEP 6) a reject may still come;
   * - `pieces`: it was rejected or choked away; only a crossing piece is forgiven.
   */
  readonly #grace = new Map<string, GraceEntry>();
  /** BEP 6 allowed fast sets: what we granted them, what they granted us. */
  readonly #allowedFastSent = new Set<number>();
  readonly #allowedFastReceived = new Set<number>();

  #outgoing: Uint8Array[] = [];
  #outgoingHead = 0;
  #outgoingBytes = 0;
  #lateBlockBytes = 0;
  /** ut_metadata requests received, and the metadata_size we last announced (bounds them). */
  #metadataRequests = 0;
  #advertisedMetadataSize: number | null = null;
  /** Rejects we queued on our own in answer to their requests since the last takeOutgoing(). */
  #autoRejects = 0;

  readonly #createdMs: number;
  #lastReceivedMs: number;
  #lastSentMs: number;
  readonly #down: RateMeter;
  readonly #up: RateMeter;

  constructor(init: PeerConnectionInit, clock: Clock) {
    this.infoHash = init.infoHash;
    this.localPeerId = init.localPeerId;
    this.direction = init.direction;
    this.limits = { ...defaultPeerLimits, ...init.limits };
    this.localExtensions = { ...defaultLocalExtensions, ...init.localExtensions };
    const { utMetadataId } = this.localExtensions;
    if (utMetadataId !== null && (!Number.isInteger(utMetadataId) || utMetadataId < 1 || utMetadataId > 255)) {
      throw new RangeError(`utMetadataId must be 1..255, got ${utMetadataId}`);
    }
    if (this.limits.maxBlockBytes > maxAgreedBlockBytes) throw new RangeError(`maxBlockBytes is at most ${maxAgreedBlockBytes}`);
    this.#clock = clock;
    this.#localFast = init.fastExtension ?? true;
    const maxBitfieldBytes = bitfieldBytes(Math.ceil(this.limits.maxMetadataBytes / pieceHashBytes));
    const maxBlockBytes = this.limits.maxBlockBytes;
    this.#decoder = new FrameDecoder({
      expectHandshake: true,
      maxFrameBytes: this.limits.maxFrameBytes,
      // Tighter bounds per id, checked before a frame's body is buffered.
      maxPayloadBytes: (id) => {
        switch (id) {
          case MessageId.piece:
            return 8 + maxBlockBytes; // we never request more than maxBlockBytes
          case MessageId.bitfield:
            return maxBitfieldBytes; // the exact length is checked against the piece count
          case MessageId.extended:
            return 1 + maxExtendedPayloadBytes;
          default:
            return maxUnknownPayloadBytes;
        }
      },
    });
    this.#createdMs = clock.nowMs();
    this.#lastReceivedMs = this.#createdMs;
    this.#lastSentMs = this.#createdMs;
    this.#down = new RateMeter({ windowMs: this.limits.rateWindowMs });
    this.#up = new RateMeter({ windowMs: this.limits.rateWindowMs });
  }

  // ---- state ----------------------------------------------------------------

  get closed(): boolean {
    return this.#closed;
  }
  /** The violation or reason that closed the connection, if closed. */
  get closeReason(): ProtocolViolation | string | null {
    return this.#closeReason;
  }
  get handshakeSent(): boolean {
    return this.#handshakeSent;
  }
  get handshakeReceived(): boolean {
    return this.#remote !== null;
  }
  get remotePeerId(): PeerId | null {
    return this.#remote?.peerId ?? null;
  }
  get remoteReserved(): Uint8Array | null {
    return this.#remote?.reserved ?? null;
  }
  /** Both sides set the BEP 6 bit. */
  get supportsFast(): boolean {
    return this.#localFast && (this.#remote?.fastExtension ?? false);
  }
  /** The remote set the BEP 10 bit (we always do). */
  get supportsExtensions(): boolean {
    return this.#remote?.extensionProtocol ?? false;
  }
  get extendedHandshakeReceived(): boolean {
    return this.#extendedHandshakeReceived;
  }
  /** The peer's BEP 10 `m`: extension name -> the id we must use when sending it. */
  get remoteExtensions(): ReadonlyMap<string, number> {
    return this.#remoteExtensions;
  }
  get remoteClient(): string | null {
    return this.#remoteClient;
  }
  get remoteReqq(): number | null {
    return this.#remoteReqq;
  }
  get remoteMetadataSize(): number | null {
    return this.#remoteMetadataSize;
  }
  /** The peer supports BEP 9 ut_metadata. */
  get supportsMetadata(): boolean {
    return this.#remoteExtensions.has(utMetadataName);
  }
  get amChoking(): boolean {
    return this.#amChoking;
  }
  get amInterested(): boolean {
    return this.#amInterested;
  }
  get peerChoking(): boolean {
    return this.#peerChoking;
  }
  get peerInterested(): boolean {
    return this.#peerInterested;
  }
  get torrentShape(): TorrentShape | null {
    return this.#shape;
  }
  /** The remote's pieces; null until the torrent shape is known. */
  get remoteBitfield(): Bitfield | null {
    return this.#remoteBitfield;
  }
  /** Our requests in flight, oldest first. */
  get requestsInFlight(): readonly OutgoingRequest[] {
    return [...this.#ourRequests.values()];
  }
  get requestsInFlightCount(): number {
    return this.#ourRequests.size;
  }
  /** Their requests to us not yet answered, oldest first. */
  get pendingRemoteRequests(): readonly IncomingRequest[] {
    return [...this.#theirRequests.values()];
  }
  /** Pieces the peer allowed us to request while choked (BEP 6). */
  get allowedFastReceived(): ReadonlySet<number> {
    return this.#allowedFastReceived;
  }
  /** Payload bytes of blocks received / sent. */
  get downloadedBytes(): number {
    return this.#down.totalBytes;
  }
  /** Bytes of blocks that arrived after we cancelled them (or they were rejected or choked away): dropped, not counted as downloaded. */
  get lateBlockBytes(): number {
    return this.#lateBlockBytes;
  }
  get uploadedBytes(): number {
    return this.#up.totalBytes;
  }
  get downloadRateBytesPerS(): number {
    return this.#down.rateBytesPerS(this.#clock.nowMs());
  }
  get uploadRateBytesPerS(): number {
    return this.#up.rateBytesPerS(this.#clock.nowMs());
  }
  /** Bytes queued and not yet taken by takeOutgoing(). */
  get outgoingBytes(): number {
    return this.#outgoingBytes;
  }
  get lastReceivedMs(): number {
    return this.#lastReceivedMs;
  }

  /** Whether request(index, ...) is allowed now: not choked, or the piece is allowed fast. */
  canRequest(index: number): boolean {
    if (this.#closed || this.#shape === null || !this.#inRange(index)) return false;
    return !this.#peerChoking || (this.supportsFast && this.#allowedFastReceived.has(index));
  }

  // ---- input ----------------------------------------------------------------

  /** Bytes from the data channel, in any chunking. */
  receive(bytes: Uint8Array): PeerEvent[] {
    if (this.#closed) return [];
    this.#lastReceivedMs = this.#clock.nowMs();
    const events: PeerEvent[] = [];
    try {
      for (const frame of this.#decoder.push(bytes)) this.#onFrame(frame, events);
    } catch (err) {
      events.push(this.#fail(err));
    }
    return events;
  }

  /**
   * The torrent's shape, once metadata is known. Validates what arrived before
   * (a bitfield of the wrong length is a violation now) and emits it as one
   * `bitfield` event, followed by deferred allowed_fast / suggest.
   */
  setTorrentShape(shape: TorrentShape): PeerEvent[] {
    if (this.#shape !== null) {
      const s = this.#shape;
      if (s.pieceCount !== shape.pieceCount || s.pieceLength !== shape.pieceLength || s.totalLength !== shape.totalLength) {
        throw new WireUsageError("the torrent shape is already set to another value");
      }
      return [];
    }
    const { pieceCount, pieceLength, totalLength } = shape;
    if (!Number.isSafeInteger(pieceCount) || pieceCount < 1 || !Number.isSafeInteger(pieceLength) || pieceLength < 1) {
      throw new WireUsageError("pieceCount and pieceLength must be positive integers");
    }
    if (!Number.isSafeInteger(totalLength) || totalLength <= pieceLength * (pieceCount - 1) || totalLength > pieceLength * pieceCount) {
      throw new WireUsageError(`totalLength ${totalLength} does not fit ${pieceCount} pieces of ${pieceLength}`);
    }
    this.#shape = { pieceCount, pieceLength, totalLength };
    if (this.#closed) return [];
    const events: PeerEvent[] = [];
    try {
      const early = this.#early;
      let bitfield: Bitfield;
      if (early.bits !== null) bitfield = Bitfield.fromBytes(early.bits, pieceCount);
      else if (early.haveAll) bitfield = Bitfield.full(pieceCount);
      else bitfield = new Bitfield(pieceCount);
      if (early.maxHave >= pieceCount) throw new ProtocolViolation("index-out-of-range", `have ${early.maxHave} with ${pieceCount} pieces`);
      for (let i = 0; i <= early.maxHave; i++) if ((early.haves[i >> 3]! & (0x80 >> (i & 7))) !== 0) bitfield.set(i);
      this.#remoteBitfield = bitfield;
      if (this.#availabilityReceived || early.maxHave >= 0) events.push({ type: "bitfield", bitfield });
      const hints = early.hints;
      this.#early = { bits: null, haveAll: false, haves: new Uint8Array(0), maxHave: -1, hints: [] };
      for (const hint of hints) this.#onMessage(hint, events);
    } catch (err) {
      events.push(this.#fail(err));
    }
    return events;
  }

  /**
   * Timers: queues a keep-alive after keepAliveIntervalMs of our silence
   * (BEP 3), and closes with a `timeout` violation after idleTimeoutMs with
   * nothing received (or handshakeTimeoutMs without a handshake).
   */
  tick(): PeerEvent[] {
    if (this.#closed) return [];
    const now = this.#clock.nowMs();
    if (this.#remote === null && now - this.#createdMs >= this.limits.handshakeTimeoutMs) {
      return [this.#fail(new ProtocolViolation("timeout", `no handshake within ${this.limits.handshakeTimeoutMs} ms`))];
    }
    if (now - this.#lastReceivedMs >= this.limits.idleTimeoutMs) {
      return [this.#fail(new ProtocolViolation("timeout", `nothing received for ${now - this.#lastReceivedMs} ms`))];
    }
    if (this.#handshakeSent && now - this.#lastSentMs >= this.limits.keepAliveIntervalMs) this.#queueMessage({ type: "keep-alive" });
    for (const [key, { untilMs }] of this.#grace) {
      if (untilMs > now) break; // insertion order is expiry order
      this.#grace.delete(key);
    }
    return [];
  }

  /** Closes the connection from our side (no more events, intents do nothing). */
  close(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeReason = reason;
    this.#clearOnClose();
  }

  // ---- output ---------------------------------------------------------------

  /**
   * Queued frames coalesced into one chunk of at most maxBytes (a frame may be
   * split across chunks: the wire is a byte stream). Null when nothing is queued.
   */
  takeOutgoing(maxBytes: number = defaultOutgoingChunkBytes): Uint8Array | null {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    this.#autoRejects = 0;
    if (this.#outgoingBytes === 0) return null;
    const size = Math.min(maxBytes, this.#outgoingBytes);
    const first = this.#outgoing[0]!;
    if (this.#outgoingHead === 0 && first.length === size) {
      this.#outgoing.shift();
      this.#outgoingBytes -= size;
      return first;
    }
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const frame = this.#outgoing[0]!;
      const n = Math.min(frame.length - this.#outgoingHead, size - filled);
      out.set(frame.subarray(this.#outgoingHead, this.#outgoingHead + n), filled);
      filled += n;
      this.#outgoingHead += n;
      if (this.#outgoingHead === frame.length) {
        this.#outgoing.shift();
        this.#outgoingHead = 0;
      }
    }
    this.#outgoingBytes -= size;
    return out;
  }

  /**
   * Everything queued, as the frames themselves (a piece message is its
   * 13-byte header and then its block) with nothing copied; a frame longer
   * than maxBytes comes as views of at most maxBytes each. For a transport
   * that coalesces on its own: it copies each byte once, into the message it
   * sends. The arrays must not be changed.
   */
  takeFrames(maxBytes: number = defaultOutgoingChunkBytes): Uint8Array[] {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`maxBytes must be a positive integer, got ${maxBytes}`);
    this.#autoRejects = 0;
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.#outgoing.length; i++) {
      const frame = this.#outgoing[i]!;
      for (let at = i === 0 ? this.#outgoingHead : 0; at < frame.length; at += maxBytes) {
        out.push(at === 0 && frame.length <= maxBytes ? frame : frame.subarray(at, Math.min(frame.length, at + maxBytes)));
      }
    }
    this.#outgoing = [];
    this.#outgoingHead = 0;
    this.#outgoingBytes = 0;
    return out;
  }

  /** Our BEP 3 handshake, with the BEP 10 bit and (by default) the BEP 6 bit. Once. */
  sendHandshake(): void {
    if (this.#closed) return;
    if (this.#handshakeSent) throw new WireUsageError("the handshake was already sent");
    this.#handshakeSent = true;
    this.#enqueue(
      encodeHandshake(makeHandshake({ infoHash: this.infoHash, peerId: this.localPeerId, extensionProtocol: true, fastExtension: this.#localFast })),
    );
  }

  /**
   * Our BEP 10 extended handshake {m, v, reqq, metadata_size}. Needs the peer's
   * handshake with the BEP 10 bit. May be sent again, e.g. with metadataSize
   * once we have fetched the metadata (BEP 10 allows later handshakes).
   */
  sendExtendedHandshake(update: { readonly metadataSize?: number | null } = {}): void {
    if (this.#closed) return;
    this.#requireHandshakes();
    if (!this.supportsExtensions) throw new WireUsageError("the peer did not set the extension protocol bit (BEP 10)");
    const local = this.localExtensions;
    const metadataSize = update.metadataSize !== undefined ? update.metadataSize : local.metadataSize;
    this.#advertisedMetadataSize = local.utMetadataId === null ? null : metadataSize;
    const m: Record<string, number> = {};
    if (local.utMetadataId !== null) m[utMetadataName] = local.utMetadataId;
    const payload = encodeExtendedHandshake({ m, client: local.client, reqq: local.reqq, metadataSize: local.utMetadataId === null ? null : metadataSize });
    this.#queueMessage({ type: "extended", id: extendedHandshakeId, payload });
  }

  /**
   * Chokes the peer. Without BEP 6 their pending requests are discarded (BEP 3);
   * with it, each is rejected except those for allowed-fast pieces (BEP 6).
   * Returns the requests discarded or rejected, so the session drops queued reads.
   */
  choke(): BlockRequest[] {
    if (this.#closed || this.#amChoking) return [];
    this.#requireHandshakes();
    this.#amChoking = true;
    this.#queueMessage({ type: "choke" });
    const ended: BlockRequest[] = [];
    for (const [key, r] of this.#theirRequests) {
      if (this.supportsFast && this.#allowedFastSent.has(r.index)) continue;
      this.#theirRequests.delete(key);
      ended.push({ index: r.index, begin: r.begin, length: r.length });
      if (this.supportsFast) this.#queueMessage({ type: "reject", index: r.index, begin: r.begin, length: r.length });
    }
    return ended;
  }

  unchoke(): void {
    if (this.#closed || !this.#amChoking) return;
    this.#requireHandshakes();
    this.#amChoking = false;
    this.#queueMessage({ type: "unchoke" });
  }

  interested(): void {
    if (this.#closed || this.#amInterested) return;
    this.#requireHandshakes();
    this.#amInterested = true;
    this.#queueMessage({ type: "interested" });
  }

  notInterested(): void {
    if (this.#closed || !this.#amInterested) return;
    this.#requireHandshakes();
    this.#amInterested = false;
    this.#queueMessage({ type: "not-interested" });
  }

  have(index: number): void {
    if (this.#closed) return;
    this.#requireShapeIndex(index);
    this.#queueMessage({ type: "have", index });
  }

  /** Our availability as a BEP 3 bitfield; send once, right after the handshakes. */
  bitfield(bits: Bitfield): void {
    if (this.#closed) return;
    const shape = this.#requireShape();
    if (bits.pieceCount !== shape.pieceCount) throw new WireUsageError(`bitfield of ${bits.pieceCount} pieces for a torrent of ${shape.pieceCount}`);
    this.#requireHandshakes();
    this.#queueMessage({ type: "bitfield", bits: bits.toBytes() });
  }

  /** BEP 6 have_all (instead of a full bitfield). */
  haveAll(): void {
    if (this.#closed) return;
    this.#requireFast("have_all");
    this.#queueMessage({ type: "have-all" });
  }

  /** BEP 6 have_none (instead of an empty bitfield; also usable before metadata). */
  haveNone(): void {
    if (this.#closed) return;
    this.#requireFast("have_none");
    this.#queueMessage({ type: "have-none" });
  }

  /**
   * Requests a block. Throws WireUsageError when the request is invalid for
   * the torrent (index, begin, length > maxBlockBytes), a duplicate, or not
   * allowed now (see canRequest).
   */
  request(index: number, begin: number, length: number): void {
    if (this.#closed) return;
    this.#checkBlock(index, begin, length, Math.min(this.limits.maxBlockBytes, maxAgreedBlockBytes));
    if (!this.canRequest(index)) throw new WireUsageError(`cannot request piece ${index} now: the peer is choking us`);
    const key = keyOf(index, begin, length);
    if (this.#ourRequests.has(key)) throw new WireUsageError(`block ${key} is already requested`);
    this.#ourRequests.set(key, { index: index as PieceIndex, begin, length, sentAtMs: this.#clock.nowMs() });
    this.#queueMessage({ type: "request", index, begin, length });
  }

  /**
   * Cancels a request in flight (BEP 3); a block that still arrives within
   * lateBlockGraceMs is dropped silently. Returns false when it was not in flight.
   */
  cancel(index: number, begin: number, length: number): boolean {
    if (this.#closed) return false;
    const key = keyOf(index, begin, length);
    const r = this.#ourRequests.get(key);
    if (r === undefined) return false;
    this.#ourRequests.delete(key);
    this.#remember(key, "answers");
    this.#queueMessage({ type: "cancel", index, begin, length });
    return true;
  }

  /**
   * Sends a block answering their pending request. Returns false (and sends
   * nothing) when no such request is pending: cancelled, choked away, or never made.
   */
  piece(index: number, begin: number, block: Uint8Array): boolean {
    if (this.#closed) return false;
    const key = keyOf(index, begin, block.length);
    if (!this.#theirRequests.delete(key)) return false;
    this.#up.add(block.length, this.#clock.nowMs());
    // Header and block queued apart: the block is copied once, into the outgoing chunk.
    this.#enqueue(encodePieceHeader(index, begin, block.length));
    this.#enqueue(block);
    return true;
  }

  /** BEP 6: refuses their pending request. Returns false when it was not pending. */
  reject(index: number, begin: number, length: number): boolean {
    if (this.#closed) return false;
    this.#requireFast("reject");
    const key = keyOf(index, begin, length);
    if (!this.#theirRequests.delete(key)) return false;
    this.#queueMessage({ type: "reject", index, begin, length });
    return true;
  }

  /** BEP 6: the peer may request this piece even while we choke it. */
  allowedFast(index: number): void {
    if (this.#closed) return;
    this.#requireFast("allowed_fast");
    this.#requireShapeIndex(index);
    this.#allowedFastSent.add(index);
    this.#queueMessage({ type: "allowed-fast", index });
  }

  /** BEP 6 suggest piece. */
  suggest(index: number): void {
    if (this.#closed) return;
    this.#requireFast("suggest");
    this.#requireShapeIndex(index);
    this.#queueMessage({ type: "suggest", index });
  }

  /** BEP 9: asks the peer for one 16 KiB piece of the info dict. */
  sendMetadataRequest(piece: number): void {
    this.#sendMetadata({ type: "request", piece });
  }

  /** BEP 9: one piece of our info dict (16 KiB, the last may be shorter). */
  sendMetadataData(piece: number, totalSize: number, data: Uint8Array): void {
    const expected = Math.min(metadataPieceBytes, totalSize - piece * metadataPieceBytes);
    if (!(expected > 0) || data.length !== expected) throw new WireUsageError(`metadata piece ${piece} of ${totalSize} bytes must be ${expected} bytes`);
    this.#sendMetadata({ type: "data", piece, totalSize, data });
  }

  /** BEP 9: we will not send this metadata piece. */
  sendMetadataReject(piece: number): void {
    this.#sendMetadata({ type: "reject", piece });
  }

  // ---- internals: input -------------------------------------------------------

  #onFrame(frame: DecodedFrame, events: PeerEvent[]): void {
    switch (frame.kind) {
      case "handshake":
        this.#onHandshake(frame.handshake, events);
        return;
      case "message":
        this.#onMessage(frame.message, events);
        return;
      case "unknown":
        // BEP 3 leaves unknown ids undefined; clients ignore them (e.g. BEP 5 port). Size was bounded by the decoder.
        return;
    }
  }

  #onHandshake(h: Handshake, events: PeerEvent[]): void {
    // BEP 3: "If the initiator ... receives a handshake for an infohash it is not serving, it drops the connection."
    if (!bytesEqual(idToBytes(h.infoHash), idToBytes(this.infoHash))) {
      throw new ProtocolViolation("wrong-info-hash", `handshake for ${h.infoHash}, expected ${this.infoHash}`);
    }
    if (h.peerId === this.localPeerId) throw new ProtocolViolation("self-connection", "the remote peer id is our own");
    this.#remote = h;
    events.push({ type: "handshake", peerId: h.peerId, reserved: h.reserved, extensionProtocol: h.extensionProtocol, fastExtension: h.fastExtension });
  }

  #onMessage(msg: WireMessage, events: PeerEvent[]): void {
    const now = this.#clock.nowMs();
    switch (msg.type) {
      case "keep-alive":
        events.push({ type: "keep-alive" });
        return;
      case "choke": {
        this.#peerChoking = true;
        const dropped: BlockRequest[] = [];
        // BEP 6: with the fast extension a choke does not cancel requests (rejects follow);
        // BEP 3 without it: every request in flight is dropped.
        if (!this.supportsFast) {
          for (const [key, r] of this.#ourRequests) {
            dropped.push({ index: r.index, begin: r.begin, length: r.length });
            this.#remember(key, "pieces");
          }
          this.#ourRequests.clear();
        }
        events.push({ type: "choke", droppedRequests: dropped });
        return;
      }
      case "unchoke":
        this.#peerChoking = false;
        events.push({ type: "unchoke" });
        return;
      case "interested":
        this.#peerInterested = true;
        events.push({ type: "interested" });
        return;
      case "not-interested":
        this.#peerInterested = false;
        events.push({ type: "not-interested" });
        return;
      case "have":
        this.#onHave(msg.index, events);
        return;
      case "bitfield":
        this.#onAvailability(events, msg.bits);
        return;
      case "have-all":
      case "have-none":
        this.#requireRemoteFast(msg.type);
        this.#onAvailability(events, msg.type);
        return;
      case "request":
        this.#onRequest(msg.index, msg.begin, msg.length, events);
        return;
      case "piece":
        this.#onPiece(msg.index, msg.begin, msg.block, now, events);
        return;
      case "cancel": {
        if (this.#shape === null) return; // nothing of theirs can be pending yet
        const index = this.#checkRemoteIndex(msg.index);
        const key = keyOf(index, msg.begin, msg.length);
        // BEP 3: a cancel may cross the piece we already sent; then it is simply ignored.
        if (!this.#theirRequests.delete(key)) return;
        // BEP 6: a cancelled request is answered with a reject (or the piece).
        if (this.supportsFast) this.#autoReject(index, msg.begin, msg.length);
        events.push({ type: "cancel", index, begin: msg.begin, length: msg.length });
        return;
      }
      case "reject": {
        this.#requireRemoteFast("reject");
        const key = keyOf(msg.index, msg.begin, msg.length);
        const r = this.#ourRequests.get(key);
        if (r !== undefined) {
          this.#ourRequests.delete(key);
          this.#remember(key, "pieces"); // a piece already on its way is forgiven
          events.push({ type: "reject", index: r.index, begin: r.begin, length: r.length });
          return;
        }
        // A reject answering our cancel (BEP 6: a cancelled request is answered by a piece or a reject).
        if (this.#takeGrace(key, now, "reject")) return;
        throw new ProtocolViolation("unrequested-reject", `reject for ${key}, which we did not request (BEP 6)`);
      }
      case "allowed-fast":
      case "suggest": {
        this.#requireRemoteFast(msg.type);
        if (this.#shape === null) {
          // A seed may send these before we have the metadata: kept (bounded) and replayed by setTorrentShape.
          if (this.#early.hints.length < maxDeferredHints) this.#early.hints.push(msg);
          return;
        }
        const index = this.#checkRemoteIndex(msg.index);
        if (msg.type === "allowed-fast") this.#allowedFastReceived.add(index);
        events.push({ type: msg.type, index });
        return;
      }
      case "extended":
        this.#onExtended(msg.id, msg.payload, events);
        return;
    }
  }

  #onHave(rawIndex: number, events: PeerEvent[]): void {
    if (this.#shape === null) {
      // Before metadata: fold into a bit array bounded by the largest piece count the metadata bound allows.
      const maxPieces = Math.ceil(this.limits.maxMetadataBytes / pieceHashBytes);
      if (rawIndex >= maxPieces) throw new ProtocolViolation("index-out-of-range", `have ${rawIndex} is beyond any torrent within the metadata bound`);
      const early = this.#early;
      const needed = (rawIndex >> 3) + 1;
      if (early.haves.length < needed) {
        const grown = new Uint8Array(Math.min(bitfieldBytes(maxPieces), Math.max(needed, early.haves.length * 2)));
        grown.set(early.haves);
        early.haves = grown;
      }
      early.haves[rawIndex >> 3]! |= 0x80 >> (rawIndex & 7);
      early.maxHave = Math.max(early.maxHave, rawIndex);
      return;
    }
    const index = this.#checkRemoteIndex(rawIndex);
    if (this.#remoteBitfield!.set(index)) events.push({ type: "have", index });
  }

  #onAvailability(events: PeerEvent[], what: Uint8Array | "have-all" | "have-none"): void {
    // BEP 3 / BEP 6: one bitfield, have_all or have_none per connection.
    if (this.#availabilityReceived) throw new ProtocolViolation("duplicate-bitfield", "a second bitfield / have_all / have_none");
    this.#availabilityReceived = true;
    const shape = this.#shape;
    if (shape === null) {
      const early = this.#early;
      if (what === "have-all") early.haveAll = true;
      else if (what !== "have-none") {
        const maxPieces = Math.ceil(this.limits.maxMetadataBytes / pieceHashBytes);
        if (what.length > bitfieldBytes(maxPieces)) throw new ProtocolViolation("bad-bitfield", `bitfield of ${what.length} bytes is beyond the metadata bound`);
        early.bits = what;
      }
      return;
    }
    const previous = this.#remoteBitfield!;
    if (what === "have-all") {
      this.#remoteBitfield = Bitfield.full(shape.pieceCount);
      events.push({ type: "have-all" });
    } else if (what === "have-none") {
      // Haves that came first still count.
      events.push({ type: "have-none" });
    } else {
      const bitfield = Bitfield.fromBytes(what, shape.pieceCount);
      for (const i of previous.indices()) bitfield.set(i);
      this.#remoteBitfield = bitfield;
      events.push({ type: "bitfield", bitfield });
    }
  }

  #onRequest(rawIndex: number, begin: number, length: number, events: PeerEvent[]): void {
    if (this.#shape === null) throw new ProtocolViolation("unexpected-message", "request before we announced any piece");
    const index = this.#checkRemoteIndex(rawIndex);
    this.#checkRemoteBlock(index, begin, length);
    const key = keyOf(index, begin, length);
    if (this.#theirRequests.has(key)) return; // a duplicate: already queued
    if (this.#amChoking && !(this.supportsFast && this.#allowedFastSent.has(index))) {
      // BEP 3: requests while choked are ignored. BEP 6: they are rejected.
      if (this.supportsFast) this.#autoReject(index, begin, length);
      return;
    }
    if (this.#theirRequests.size >= this.limits.maxPendingRemoteRequests) {
      throw new ProtocolViolation("request-flood", `more than ${this.limits.maxPendingRemoteRequests} requests pending`);
    }
    this.#theirRequests.set(key, { index, begin, length, receivedAtMs: this.#clock.nowMs() });
    events.push({ type: "request", index, begin, length });
  }

  #onPiece(rawIndex: number, begin: number, block: Uint8Array, now: number, events: PeerEvent[]): void {
    if (this.#shape === null) throw new ProtocolViolation("unrequested-piece", "a piece before we requested anything");
    const index = this.#checkRemoteIndex(rawIndex);
    const key = keyOf(index, begin, block.length);
    const r = this.#ourRequests.get(key);
    if (r === undefined) {
      // BEP 3: a cancel races with the piece already on its way; likewise a choke or reject.
      if (this.#takeGrace(key, now, "piece")) {
        this.#lateBlockBytes += block.length;
        return;
      }
      throw new ProtocolViolation("unrequested-piece", `block ${key} was never requested`);
    }
    this.#ourRequests.delete(key);
    this.#down.add(block.length, now);
    events.push({ type: "piece", index, begin, block, requestedAtMs: r.sentAtMs });
  }

  #onExtended(id: number, payload: Uint8Array, events: PeerEvent[]): void {
    if (!this.supportsExtensions) throw new ProtocolViolation("extensions-not-negotiated", "extended message without the BEP 10 reserved bit");
    if (id === extendedHandshakeId) {
      const h = parseExtendedHandshake(payload, this.limits.maxMetadataBytes);
      // BEP 10: later handshakes update the map; id 0 disables an extension.
      for (const name of h.disabled) this.#remoteExtensions.delete(name);
      for (const [name, extId] of h.m) this.#remoteExtensions.set(name, extId);
      if (h.client !== null) this.#remoteClient = h.client;
      if (h.reqq !== null) this.#remoteReqq = h.reqq;
      if (h.metadataSize !== null) this.#remoteMetadataSize = h.metadataSize;
      this.#extendedHandshakeReceived = true;
      events.push({
        type: "extended-handshake",
        m: new Map(this.#remoteExtensions),
        metadataSize: this.#remoteMetadataSize,
        client: this.#remoteClient,
        reqq: this.#remoteReqq,
      });
      return;
    }
    // BEP 10: the peer must use the ids we assigned in our `m`.
    if (id !== this.localExtensions.utMetadataId) throw new ProtocolViolation("unknown-extension", `extended message id ${id} was never assigned`);
    const m: MetadataMessage | null = parseMetadataMessage(payload, this.limits.maxMetadataBytes);
    if (m === null) return; // BEP 9: unknown msg_type is ignored
    switch (m.type) {
      case "request": {
        // Each request costs us a 16 KiB answer: a peer may ask for each piece a few times, not endlessly.
        this.#metadataRequests++;
        const pieces = metadataPieceCount(this.#advertisedMetadataSize ?? 0);
        const bound = maxMetadataRequestsBase + maxMetadataRequestsPerPiece * pieces;
        if (this.#metadataRequests > bound) throw new ProtocolViolation("request-flood", `more than ${bound} ut_metadata requests`);
        events.push({ type: "metadata-request", piece: m.piece });
        return;
      }
      case "data":
        events.push({ type: "metadata-data", piece: m.piece, totalSize: m.totalSize, data: m.data });
        return;
      case "reject":
        events.push({ type: "metadata-reject", piece: m.piece });
        return;
    }
  }

  #checkRemoteIndex(index: number): PieceIndex {
    if (!this.#inRange(index)) throw new ProtocolViolation("index-out-of-range", `piece ${index} with ${this.#shape?.pieceCount ?? 0} pieces`);
    return index as PieceIndex;
  }

  #checkRemoteBlock(index: number, begin: number, length: number): void {
    if (length === 0) throw new ProtocolViolation("bad-request", "request of zero bytes");
    if (length > this.limits.maxBlockBytes) throw new ProtocolViolation("bad-request", `request of ${length} bytes exceeds the ${this.limits.maxBlockBytes}-byte block bound`);
    if (begin + length > this.#pieceLength(index)) throw new ProtocolViolation("bad-request", `request ${begin}+${length} runs past the end of piece ${index}`);
  }

  #requireRemoteFast(what: string): void {
    // BEP 6: a peer that did not advertise the fast extension must not send its messages; close.
    if (!this.supportsFast) throw new ProtocolViolation("fast-not-negotiated", `${what} without the fast extension (BEP 6)`);
  }

  #autoReject(index: number, begin: number, length: number): void {
    // Our handshake must lead the stream; a request that came before it was never served: dropped.
    if (!this.#handshakeSent) return;
    this.#autoRejects++;
    if (this.#autoRejects > this.limits.maxPendingRemoteRequests) {
      throw new ProtocolViolation("request-flood", `more than ${this.limits.maxPendingRemoteRequests} requests to reject before we could send`);
    }
    this.#queueMessage({ type: "reject", index, begin, length });
  }

  #remember(key: string, credit: "answers" | "pieces"): void {
    const entry = this.#grace.get(key) ?? { untilMs: 0, answers: 0, pieces: 0 };
    entry[credit]++;
    entry.untilMs = this.#clock.nowMs() + this.limits.lateBlockGraceMs;
    this.#grace.delete(key);
    this.#grace.set(key, entry);
    if (this.#grace.size > maxGraceEntries) {
      const oldest = this.#grace.keys().next();
      if (oldest.done !== true) this.#grace.delete(oldest.value);
    }
  }

  #takeGrace(key: string, now: number, answer: "piece" | "reject"): boolean {
    const entry = this.#grace.get(key);
    if (entry === undefined) return false;
    if (entry.untilMs <= now) {
      this.#grace.delete(key);
      return false;
    }
    if (entry.answers > 0) entry.answers--;
    else if (answer === "piece" && entry.pieces > 0) entry.pieces--;
    else return false;
    if (entry.answers === 0 && entry.pieces === 0) this.#grace.delete(key);
    return true;
  }

  #fail(err: unknown): PeerEvent {
    const error = err instanceof ProtocolViolation ? err : new ProtocolViolation("internal-error", err instanceof Error ? err.message : String(err));
    this.#closed = true;
    this.#closeReason = error;
    this.#clearOnClose();
    return { type: "violation", error };
  }

  #clearOnClose(): void {
    this.#outgoing = [];
    this.#outgoingHead = 0;
    this.#outgoingBytes = 0;
    this.#theirRequests.clear();
    this.#grace.clear();
    this.#early = { bits: null, haveAll: false, haves: new Uint8Array(0), maxHave: -1, hints: [] };
  }

  // ---- internals: output ------------------------------------------------------

  #sendMetadata(msg: MetadataMessage): void {
    if (this.#closed) return;
    this.#requireHandshakes();
    const id = this.#remoteExtensions.get(utMetadataName);
    if (id === undefined) throw new WireUsageError("the peer did not offer ut_metadata (BEP 9)");
    if (!Number.isInteger(msg.piece) || msg.piece < 0) throw new WireUsageError(`metadata piece must be a non-negative integer, got ${msg.piece}`);
    this.#queueMessage({ type: "extended", id, payload: encodeMetadataMessage(msg) });
  }

  #requireHandshakes(): void {
    if (!this.#handshakeSent) throw new WireUsageError("send the handshake first");
  }

  #requireFast(what: string): void {
    this.#requireHandshakes();
    if (!this.supportsFast) throw new WireUsageError(`${what} needs the fast extension on both sides (BEP 6)`);
  }

  #requireShape(): TorrentShape {
    if (this.#shape === null) throw new WireUsageError("the torrent shape is not known yet");
    return this.#shape;
  }

  #requireShapeIndex(index: number): void {
    this.#requireShape();
    this.#requireHandshakes();
    if (!this.#inRange(index)) throw new WireUsageError(`piece ${index} is out of range`);
  }

  #checkBlock(index: number, begin: number, length: number, maxLength: number): void {
    this.#requireShapeIndex(index);
    if (!Number.isInteger(begin) || begin < 0 || !Number.isInteger(length) || length < 1 || length > maxLength) {
      throw new WireUsageError(`block ${begin}+${length} is invalid (1..${maxLength} bytes)`);
    }
    if (begin + length > this.#pieceLength(index)) throw new WireUsageError(`block ${begin}+${length} runs past the end of piece ${index}`);
  }

  #inRange(index: number): boolean {
    return this.#shape !== null && Number.isInteger(index) && index >= 0 && index < this.#shape.pieceCount;
  }

  #pieceLength(index: number): number {
    const s = this.#shape!;
    return index === s.pieceCount - 1 ? s.totalLength - s.pieceLength * (s.pieceCount - 1) : s.pieceLength;
  }

  #queueMessage(msg: WireMessage): void {
    this.#enqueue(encodeMessage(msg));
  }

  #enqueue(bytes: Uint8Array): void {
    this.#outgoing.push(bytes);
    this.#outgoingBytes += bytes.length;
    this.#lastSentMs = this.#clock.nowMs();
  }
}
