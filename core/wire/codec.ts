// The peer wire codec (BEP 3, BEP 6, BEP 10): one encoder, one decoder, and a
// streaming FrameDecoder that turns bytes in any chunking into messages.
//
// Wire format (BEP 3): a 68-byte handshake, then frames of
// <length: uint32 big-endian><id: uint8><payload>; length 0 is a keep-alive.
// "Frame bytes" below means the value of the length prefix (id + payload).
import { infoHashFromBytes, idToBytes, peerIdFromBytes } from "../ids.ts";
import { ProtocolViolation } from "./errors.ts";
import { MessageId, type Handshake, type WireMessage } from "./messages.ts";

/** BEP 3: "\x13BitTorrent protocol". */
export const protocolString = "BitTorrent protocol";
export const handshakeBytes = 68;

/** BEP 10: 0x10 in reserved byte 5 (bit 20 from the right) marks the extension protocol. */
export const extensionProtocolByte = 5;
export const extensionProtocolBit = 0x10;
/** BEP 6: 0x04 in reserved byte 7 marks the fast extension. */
export const fastExtensionByte = 7;
export const fastExtensionBit = 0x04;

/** A piece frame for a 16 KiB block: id + index + begin + block. */
export const pieceFrameOverheadBytes = 9;
/** Largest block we ever accept when a larger block size is agreed (WebTorrent drops peers asking for more). */
export const maxAgreedBlockBytes = 128 * 1024;
/**
 * Default bound on a frame's length prefix: a 128 KiB block plus its header.
 * It also holds the bitfield of a torrent with a million pieces (125 KiB).
 */
export const defaultMaxFrameBytes = maxAgreedBlockBytes + pieceFrameOverheadBytes;

const PSTR = Uint8Array.from(protocolString, (c) => c.charCodeAt(0));

/** Builds a handshake with the reserved bits set from the two flags (others zero). */
export function makeHandshake(init: Omit<Handshake, "reserved">): Handshake {
  const reserved = new Uint8Array(8);
  if (init.extensionProtocol) reserved[extensionProtocolByte]! |= extensionProtocolBit;
  if (init.fastExtension) reserved[fastExtensionByte]! |= fastExtensionBit;
  return { ...init, reserved };
}

/**
 * BEP 3 handshake. Unknown reserved bits in `reserved` are kept; the two known
 * bits are set or cleared from the flags.
 */
export function encodeHandshake(h: Handshake): Uint8Array {
  if (h.reserved.length !== 8) throw new RangeError(`reserved is 8 bytes, got ${h.reserved.length}`);
  const out = new Uint8Array(handshakeBytes);
  out[0] = PSTR.length;
  out.set(PSTR, 1);
  const reserved = Uint8Array.from(h.reserved);
  reserved[extensionProtocolByte] = h.extensionProtocol
    ? reserved[extensionProtocolByte]! | extensionProtocolBit
    : reserved[extensionProtocolByte]! & ~extensionProtocolBit;
  reserved[fastExtensionByte] = h.fastExtension ? reserved[fastExtensionByte]! | fastExtensionBit : reserved[fastExtensionByte]! & ~fastExtensionBit;
  out.set(reserved, 20);
  out.set(idToBytes(h.infoHash), 28);
  out.set(idToBytes(h.peerId), 48);
  return out;
}

/** Parses exactly 68 handshake bytes (BEP 3). The caller checks the infohash against its own. */
export function decodeHandshake(bytes: Uint8Array): Handshake {
  if (bytes.length !== handshakeBytes) throw new ProtocolViolation("bad-handshake", `a handshake is ${handshakeBytes} bytes, got ${bytes.length}`);
  if (bytes[0] !== PSTR.length) throw new ProtocolViolation("bad-handshake", `pstrlen must be 19, got ${bytes[0]}`);
  for (let i = 0; i < PSTR.length; i++) {
    if (bytes[1 + i] !== PSTR[i]) throw new ProtocolViolation("bad-handshake", `protocol string is not "${protocolString}"`);
  }
  const reserved = bytes.slice(20, 28);
  return {
    reserved,
    extensionProtocol: (reserved[extensionProtocolByte]! & extensionProtocolBit) !== 0,
    fastExtension: (reserved[fastExtensionByte]! & fastExtensionBit) !== 0,
    infoHash: infoHashFromBytes(bytes.subarray(28, 48)),
    peerId: peerIdFromBytes(bytes.subarray(48, 68)),
  };
}

const UINT32_MAX = 0xffffffff;

function checkUint32(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > UINT32_MAX) throw new RangeError(`${name} must be a uint32, got ${n}`);
}

function frame(id: number, payloadBytes: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(4 + 1 + payloadBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1 + payloadBytes);
  out[4] = id;
  return { out, view };
}

function ints(id: number, values: readonly [string, number][]): Uint8Array {
  const { out, view } = frame(id, values.length * 4);
  values.forEach(([name, v], i) => {
    checkUint32(name, v);
    view.setUint32(5 + i * 4, v);
  });
  return out;
}

/** Encodes one message as a length-prefixed frame (BEP 3, BEP 6, BEP 10). */
export function encodeMessage(msg: WireMessage): Uint8Array {
  switch (msg.type) {
    case "keep-alive":
      return new Uint8Array(4);
    case "choke":
      return frame(MessageId.choke, 0).out;
    case "unchoke":
      return frame(MessageId.unchoke, 0).out;
    case "interested":
      return frame(MessageId.interested, 0).out;
    case "not-interested":
      return frame(MessageId.notInterested, 0).out;
    case "have-all":
      return frame(MessageId.haveAll, 0).out;
    case "have-none":
      return frame(MessageId.haveNone, 0).out;
    case "have":
      return ints(MessageId.have, [["index", msg.index]]);
    case "suggest":
      return ints(MessageId.suggest, [["index", msg.index]]);
    case "allowed-fast":
      return ints(MessageId.allowedFast, [["index", msg.index]]);
    case "request":
      return ints(MessageId.request, [["index", msg.index], ["begin", msg.begin], ["length", msg.length]]);
    case "cancel":
      return ints(MessageId.cancel, [["index", msg.index], ["begin", msg.begin], ["length", msg.length]]);
    case "reject":
      return ints(MessageId.reject, [["index", msg.index], ["begin", msg.begin], ["length", msg.length]]);
    case "bitfield": {
      const { out } = frame(MessageId.bitfield, msg.bits.length);
      out.set(msg.bits, 5);
      return out;
    }
    case "piece": {
      checkUint32("index", msg.index);
      checkUint32("begin", msg.begin);
      const { out, view } = frame(MessageId.piece, 8 + msg.block.length);
      view.setUint32(5, msg.index);
      view.setUint32(9, msg.begin);
      out.set(msg.block, 13);
      return out;
    }
    case "extended": {
      if (!Number.isInteger(msg.id) || msg.id < 0 || msg.id > 255) throw new RangeError(`extended message id must be 0..255, got ${msg.id}`);
      const { out } = frame(MessageId.extended, 1 + msg.payload.length);
      out[5] = msg.id;
      out.set(msg.payload, 6);
      return out;
    }
  }
}

/**
 * The first 13 bytes of a piece message's frame (length prefix, id, index,
 * begin) for a block of `blockBytes`: sent ahead of the block itself, the
 * block need not be copied into a frame of its own.
 */
export function encodePieceHeader(index: number, begin: number, blockBytes: number): Uint8Array {
  checkUint32("index", index);
  checkUint32("begin", begin);
  checkUint32("frame length", 9 + blockBytes);
  const out = new Uint8Array(13);
  const view = new DataView(out.buffer);
  view.setUint32(0, 9 + blockBytes);
  out[4] = MessageId.piece;
  view.setUint32(5, index);
  view.setUint32(9, begin);
  return out;
}

/** Payload length (after the id byte) each fixed-size message must have. */
const fixedPayloadBytes: ReadonlyMap<number, number> = new Map([
  [MessageId.choke, 0],
  [MessageId.unchoke, 0],
  [MessageId.interested, 0],
  [MessageId.notInterested, 0],
  [MessageId.haveAll, 0],
  [MessageId.haveNone, 0],
  [MessageId.have, 4],
  [MessageId.suggest, 4],
  [MessageId.allowedFast, 4],
  [MessageId.request, 12],
  [MessageId.cancel, 12],
  [MessageId.reject, 12],
]);

const messageNames: ReadonlyMap<number, string> = new Map(Object.entries(MessageId).map(([name, id]) => [id, name]));

/** A decoded unit of the stream. Unknown ids (e.g. BEP 5 port) are reported, not interpreted. */
export type DecodedFrame =
  | { readonly kind: "handshake"; readonly handshake: Handshake }
  | { readonly kind: "message"; readonly message: WireMessage }
  | { readonly kind: "unknown"; readonly id: number; readonly payloadBytes: number };

/**
 * Decodes one frame body (the bytes after the length prefix, starting with the id).
 * An empty body is a keep-alive. Byte arrays in the result view `body` (no copy).
 * Throws ProtocolViolation("malformed-message").
 */
export function decodeFrameBody(body: Uint8Array): DecodedFrame {
  if (body.length === 0) return { kind: "message", message: { type: "keep-alive" } };
  const id = body[0]!;
  const payload = body.subarray(1);
  const fixed = fixedPayloadBytes.get(id);
  if (fixed !== undefined && payload.length !== fixed) {
    throw new ProtocolViolation("malformed-message", `${messageNames.get(id)} payload must be ${fixed} bytes, got ${payload.length}`);
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const u32 = (i: number): number => view.getUint32(i * 4);
  const m = (message: WireMessage): DecodedFrame => ({ kind: "message", message });
  switch (id) {
    case MessageId.choke:
      return m({ type: "choke" });
    case MessageId.unchoke:
      return m({ type: "unchoke" });
    case MessageId.interested:
      return m({ type: "interested" });
    case MessageId.notInterested:
      return m({ type: "not-interested" });
    case MessageId.haveAll:
      return m({ type: "have-all" });
    case MessageId.haveNone:
      return m({ type: "have-none" });
    case MessageId.have:
      return m({ type: "have", index: u32(0) });
    case MessageId.suggest:
      return m({ type: "suggest", index: u32(0) });
    case MessageId.allowedFast:
      return m({ type: "allowed-fast", index: u32(0) });
    case MessageId.request:
      return m({ type: "request", index: u32(0), begin: u32(1), length: u32(2) });
    case MessageId.cancel:
      return m({ type: "cancel", index: u32(0), begin: u32(1), length: u32(2) });
    case MessageId.reject:
      return m({ type: "reject", index: u32(0), begin: u32(1), length: u32(2) });
    case MessageId.bitfield:
      return m({ type: "bitfield", bits: payload });
    case MessageId.piece:
      if (payload.length < 8) throw new ProtocolViolation("malformed-message", `piece payload must be at least 8 bytes, got ${payload.length}`);
      return m({ type: "piece", index: u32(0), begin: u32(1), block: payload.subarray(8) });
    case MessageId.extended:
      if (payload.length < 1) throw new ProtocolViolation("malformed-message", "extended message without its extended id");
      return m({ type: "extended", id: payload[0]!, payload: payload.subarray(1) });
    default:
      return { kind: "unknown", id, payloadBytes: payload.length };
  }
}

export interface FrameDecoderInit {
  /** The stream starts with a 68-byte handshake (default true). */
  readonly expectHandshake?: boolean;
  /** Largest length prefix accepted; larger ones fail at once, before buffering (default 128 KiB + 9). */
  readonly maxFrameBytes?: number;
  /**
   * A tighter bound per message id on the payload (bytes after the id), checked
   * as soon as the id byte arrives, before the body is buffered ("frame-too-large").
   * Undefined for an id means only maxFrameBytes applies. E.g. piece: 8 + the agreed block size.
   */
  readonly maxPayloadBytes?: (id: number) => number | undefined;
}

/**
 * Bytes in, frames out, whatever the chunking: a data-channel message may hold
 * half a frame or many frames. A frame that lies whole inside one pushed
 * chunk is decoded in place: its byte arrays view that chunk, so callers must
 * not change a chunk after pushing it. A frame split across chunks is copied
 * once, into a buffer of its own allocated only when its length prefix and id
 * have been checked; so memory is bounded by one frame of maxFrameBytes, and
 * work is linear in the bytes received, however small the chunks.
 *
 * After push() throws a ProtocolViolation the decoder is failed: every later
 * push() throws the same error.
 */
export class FrameDecoder {
  /** Handshake bytes or the 4-byte length prefix being gathered. */
  #head = new Uint8Array(handshakeBytes);
  #headFill = 0;
  /** Length prefix of the frame whose body is being gathered, or -1 between frames. */
  #frameLength = -1;
  /** The body buffer, allocated when the first body byte (the id) arrives. */
  #body: Uint8Array | null = null;
  #bodyFill = 0;
  #awaitingHandshake: boolean;
  #maxFrameBytes: number;
  readonly #maxPayloadBytes: ((id: number) => number | undefined) | undefined;
  #failure: ProtocolViolation | null = null;

  constructor(init: FrameDecoderInit = {}) {
    this.#awaitingHandshake = init.expectHandshake ?? true;
    this.#maxFrameBytes = init.maxFrameBytes ?? defaultMaxFrameBytes;
    this.#maxPayloadBytes = init.maxPayloadBytes;
  }

  /** Bytes received but not yet decoded (part of a frame). */
  get bufferedBytes(): number {
    return this.#headFill + this.#bodyFill;
  }

  get maxFrameBytes(): number {
    return this.#maxFrameBytes;
  }

  /** Changes the bound (e.g. when a larger block size is agreed); applies to later length prefixes. */
  set maxFrameBytes(bytes: number) {
    if (!Number.isInteger(bytes) || bytes < 1) throw new RangeError(`maxFrameBytes must be a positive integer, got ${bytes}`);
    this.#maxFrameBytes = bytes;
  }

  push(bytes: Uint8Array): DecodedFrame[] {
    if (this.#failure !== null) throw this.#failure;
    try {
      return this.#push(bytes);
    } catch (err) {
      const violation = err instanceof ProtocolViolation ? err : new ProtocolViolation("internal-error", String(err));
      this.#failure = violation;
      this.#body = null;
      this.#bodyFill = 0;
      this.#headFill = 0;
      throw violation;
    }
  }

  #push(bytes: Uint8Array): DecodedFrame[] {
    const out: DecodedFrame[] = [];
    let pos = 0;
    const fillHead = (target: number): boolean => {
      const n = Math.min(target - this.#headFill, bytes.length - pos);
      this.#head.set(bytes.subarray(pos, pos + n), this.#headFill);
      this.#headFill += n;
      pos += n;
      return this.#headFill === target;
    };
    while (pos < bytes.length) {
      if (this.#awaitingHandshake) {
        const full = fillHead(handshakeBytes);
        // BEP 3: fail fast on a wrong pstrlen rather than wait for 68 bytes.
        if (this.#head[0] !== PSTR.length) throw new ProtocolViolation("bad-handshake", `pstrlen must be 19, got ${this.#head[0]}`);
        if (!full) break;
        out.push({ kind: "handshake", handshake: decodeHandshake(this.#head.slice(0, handshakeBytes)) });
        this.#headFill = 0;
        this.#awaitingHandshake = false;
        continue;
      }
      if (this.#frameLength < 0) {
        if (!fillHead(4)) break;
        const h = this.#head;
        const length = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
        this.#headFill = 0;
        if (length > this.#maxFrameBytes) {
          throw new ProtocolViolation("frame-too-large", `length prefix ${length} exceeds the ${this.#maxFrameBytes}-byte bound`);
        }
        if (length === 0) {
          out.push({ kind: "message", message: { type: "keep-alive" } });
          continue;
        }
        this.#frameLength = length;
        continue;
      }
      if (this.#body === null) {
        // A fixed-size message with the wrong length is refused before its body is buffered.
        const id = bytes[pos]!;
        const fixed = fixedPayloadBytes.get(id);
        if (fixed !== undefined && this.#frameLength !== 1 + fixed) {
          throw new ProtocolViolation("malformed-message", `${messageNames.get(id)} payload must be ${fixed} bytes, got ${this.#frameLength - 1}`);
        }
        const limit = fixed === undefined ? this.#maxPayloadBytes?.(id) : undefined;
        if (limit !== undefined && this.#frameLength - 1 > limit) {
          throw new ProtocolViolation("frame-too-large", `${messageNames.get(id) ?? `message ${id}`} of ${this.#frameLength - 1} bytes exceeds its ${limit}-byte bound`);
        }
        if (bytes.length - pos >= this.#frameLength) {
          // The whole body is in this chunk: decode it where it is (its byte arrays view the chunk).
          const body = bytes.subarray(pos, pos + this.#frameLength);
          pos += this.#frameLength;
          this.#frameLength = -1;
          out.push(decodeFrameBody(body));
          continue;
        }
        this.#body = new Uint8Array(this.#frameLength);
        this.#bodyFill = 0;
      }
      const n = Math.min(this.#body.length - this.#bodyFill, bytes.length - pos);
      this.#body.set(bytes.subarray(pos, pos + n), this.#bodyFill);
      this.#bodyFill += n;
      pos += n;
      if (this.#bodyFill === this.#body.length) {
        const body = this.#body;
        this.#body = null;
        this.#bodyFill = 0;
        this.#frameLength = -1;
        out.push(decodeFrameBody(body));
      }
    }
    return out;
  }
}
