// BEP 9 ut_metadata: fetching the info dict from peers (magnet links).
//
// Messages are extended messages (BEP 10) whose payload is a bencoded dict
// {msg_type: 0 request | 1 data | 2 reject, piece, total_size (data only)},
// a data message followed by the piece's raw bytes. The info dict is cut into
// 16 KiB pieces; only the last may be shorter.
import { BencodeError, decodePrefix, dict, encode, isDict, isInt, type BValue } from "../bencode.ts";
import { concatBytes } from "../bytes.ts";
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
