// Typed errors of the peer wire layer.
//
// ProtocolViolation: something the remote peer sent breaks BEP 3/6/9/10 (or a
// bound we set to keep memory finite). It ends that one connection and nothing
// else: PeerConnection turns it into a `violation` event and goes quiet.
//
// WireUsageError: our own code asked PeerConnection for something the protocol
// forbids (a request while choked, a fast message to a peer without BEP 6...).
// That is a bug in the caller, not the peer's fault, so it is thrown.

export type ViolationKind =
  /** pstrlen is not 19 or the protocol string is not "BitTorrent protocol" (BEP 3). */
  | "bad-handshake"
  /** The handshake names another torrent (BEP 3: drop the connection). */
  | "wrong-info-hash"
  /** The remote peer id is our own: we connected to ourselves. */
  | "self-connection"
  /** A length prefix larger than our bound, rejected before buffering the frame. */
  | "frame-too-large"
  /** A message whose payload length does not fit its id. */
  | "malformed-message"
  /** Bitfield of the wrong length or with spare bits set (BEP 3). */
  | "bad-bitfield"
  /** A second bitfield / have_all / have_none (BEP 3, BEP 6: only once, first). */
  | "duplicate-bitfield"
  /** A piece index at or beyond the piece count. */
  | "index-out-of-range"
  /** Request of zero bytes, over the agreed block size, or past the end of the piece. */
  | "bad-request"
  /** Too many of their requests pending at once. */
  | "request-flood"
  /** A piece block we never requested (nor cancelled recently). */
  | "unrequested-piece"
  /** A reject for a block we never requested (BEP 6). */
  | "unrequested-reject"
  /** A BEP 6 message from a peer that did not set the fast bit (BEP 6: close). */
  | "fast-not-negotiated"
  /** An extended message from a peer that did not set the BEP 10 bit. */
  | "extensions-not-negotiated"
  /** An extended message id we never assigned (BEP 10). */
  | "unknown-extension"
  /** Extended payload that is not valid bencode. */
  | "malformed-bencode"
  /** Extended handshake fields of the wrong type or range (BEP 10). */
  | "bad-extended-handshake"
  /** ut_metadata message of the wrong shape (BEP 9). */
  | "bad-metadata-message"
  /** metadata_size / total_size above our bound (BEP 9). */
  | "metadata-too-large"
  /** A message that needs the torrent's shape or a state we are not in. */
  | "unexpected-message"
  /** Nothing received for the idle timeout, or no handshake in time. */
  | "timeout"
  /** A bug on our side while handling the peer's input: the connection is dropped, the page lives. */
  | "internal-error";

export class ProtocolViolation extends Error {
  override name = "ProtocolViolation";
  constructor(
    readonly kind: ViolationKind,
    message: string,
  ) {
    super(`${kind}: ${message}`);
  }
}

export class WireUsageError extends Error {
  override name = "WireUsageError";
}
