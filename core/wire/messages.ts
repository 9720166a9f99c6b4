// The peer wire protocol's messages as one discriminated union (BEP 3, BEP 6, BEP 10).
// The codec (encode/decode) lives beside this file; this file is types only, so
// every layer can name messages without pulling in the codec.
import type { InfoHash, PeerId } from "../ids.ts";

/** BEP 3 handshake: pstrlen 19, "BitTorrent protocol", 8 reserved bytes, infohash, peer id. */
export interface Handshake {
  readonly infoHash: InfoHash;
  readonly peerId: PeerId;
  /** 0x10 in reserved[5]: extension protocol (BEP 10). */
  readonly extensionProtocol: boolean;
  /** 0x04 in reserved[7]: fast extension (BEP 6). */
  readonly fastExtension: boolean;
  /** All 8 reserved bytes as received (unknown bits are kept, not interpreted). */
  readonly reserved: Uint8Array;
}

/** Message ids on the wire (BEP 3, BEP 6, BEP 10). */
export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  suggest: 13,
  haveAll: 14,
  haveNone: 15,
  reject: 16,
  allowedFast: 17,
  extended: 20,
} as const;

export type WireMessage =
  | { readonly type: "keep-alive" }
  | { readonly type: "choke" }
  | { readonly type: "unchoke" }
  | { readonly type: "interested" }
  | { readonly type: "not-interested" }
  | { readonly type: "have"; readonly index: number }
  | { readonly type: "bitfield"; readonly bits: Uint8Array }
  | { readonly type: "request"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "piece"; readonly index: number; readonly begin: number; readonly block: Uint8Array }
  | { readonly type: "cancel"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "suggest"; readonly index: number }
  | { readonly type: "have-all" }
  | { readonly type: "have-none" }
  | { readonly type: "reject"; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: "allowed-fast"; readonly index: number }
  /** BEP 10: id 0 is the extended handshake; other ids are the ones the receiver assigned in its `m` dict. */
  | { readonly type: "extended"; readonly id: number; readonly payload: Uint8Array };

export type WireMessageType = WireMessage["type"];

/** BitTorrent blocks are 16 KiB (BEP 3 convention; WebTorrent drops peers asking for more than 128 KiB). */
export const blockLengthBytes = 16 * 1024;
