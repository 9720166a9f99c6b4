// Branded ids and indices. Each is made only by a validating constructor, so a
// value of one of these types has already been checked where it entered.
import { fromBinaryString, fromHex, toBinaryString, toHex } from "./bytes.ts";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** 20-byte SHA-1 of the bencoded info dict (BEP 3), as 40 lower-case hex chars. */
export type InfoHash = Brand<string, "InfoHash">;
/** 20-byte peer id (BEP 3), as 40 lower-case hex chars. */
export type PeerId = Brand<string, "PeerId">;
/** Zero-based piece index, known to be below the torrent's piece count where it was made. */
export type PieceIndex = Brand<number, "PieceIndex">;

export class InvalidIdError extends Error {
  override name = "InvalidIdError";
}

const HEX40 = /^[0-9a-fA-F]{40}$/;

export function infoHashFromHex(hex: string): InfoHash {
  if (!HEX40.test(hex)) throw new InvalidIdError(`an infohash is 40 hex characters, got ${JSON.stringify(hex.slice(0, 64))}`);
  return hex.toLowerCase() as InfoHash;
}

export function infoHashFromBytes(bytes: Uint8Array): InfoHash {
  if (bytes.length !== 20) throw new InvalidIdError(`an infohash is 20 bytes, got ${bytes.length}`);
  return toHex(bytes) as InfoHash;
}

export function peerIdFromHex(hex: string): PeerId {
  if (!HEX40.test(hex)) throw new InvalidIdError(`a peer id is 40 hex characters, got ${JSON.stringify(hex.slice(0, 64))}`);
  return hex.toLowerCase() as PeerId;
}

export function peerIdFromBytes(bytes: Uint8Array): PeerId {
  if (bytes.length !== 20) throw new InvalidIdError(`a peer id is 20 bytes, got ${bytes.length}`);
  return toHex(bytes) as PeerId;
}

/** 20 raw bytes of an infohash or peer id. */
export function idToBytes(id: InfoHash | PeerId): Uint8Array {
  return fromHex(id)!;
}

/** The WebSocket tracker's 20-char binary-string form of an id. */
export function idToBinaryString(id: InfoHash | PeerId): string {
  return toBinaryString(idToBytes(id));
}

/** Parses a 20-char binary string (tracker protocol); null when it is not exactly 20 bytes. */
export function bytesFromBinaryId(text: string): Uint8Array | null {
  if (text.length !== 20) return null;
  return fromBinaryString(text);
}

export function pieceIndex(value: number, pieceCount: number): PieceIndex {
  if (!Number.isInteger(value) || value < 0 || value >= pieceCount) {
    throw new InvalidIdError(`piece index ${value} is outside 0..${pieceCount - 1}`);
  }
  return value as PieceIndex;
}

/**
 * A new random peer id in Azureus style: "-SD0100-" plus 12 random bytes.
 * `randomBytes` is passed in so core/ stays free of global randomness.
 */
export function makePeerId(randomBytes: (n: number) => Uint8Array): PeerId {
  const prefix = new TextEncoder().encode("-SD0100-");
  const bytes = new Uint8Array(20);
  bytes.set(prefix, 0);
  bytes.set(randomBytes(12), 8);
  return peerIdFromBytes(bytes);
}
