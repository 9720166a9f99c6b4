// One torrent session's connections: simple-peer data channels carrying the
// plain BitTorrent byte stream (protocols.md, "Peer wire over a WebRTC data
// channel"). Implements core SessionTransport.
//
// Backpressure is ours, not simple-peer's: simple-peer's stream stops at 64 KiB
// buffered, which caps throughput (measured, protocols.md). We queue bytes,
// coalesce wire frames into channel messages of up to min(max-message-size,
// 256 KiB), hand them to RTCDataChannel.send while bufferedAmount is below a
// 1 MiB high-water mark, and refill on `bufferedamountlow` (threshold 256 KiB).
// Small writes are sent at once only while the channel is nearly idle.
//
// Environment-neutral: works with simple-peer's browser bundle and with
// simple-peer + a Node WebRTC implementation (the headless peer in cli/).
import type { ConnectionId, SessionTransport } from "../../core/engine/session-types.ts";
import { connectionId } from "../../core/engine/session-types.ts";

/** What we use of an RTCDataChannel (simple-peer's `peer._channel`). */
export interface DataChannelLike {
  readonly readyState: string;
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  send(data: Uint8Array<ArrayBuffer>): void;
  addEventListener(type: "bufferedamountlow", listener: () => void): void;
  removeEventListener(type: "bufferedamountlow", listener: () => void): void;
}

/** What we use of a connected simple-peer instance. */
export interface DataPeer {
  readonly _channel?: DataChannelLike | null;
  readonly _pc?: { readonly sctp?: { readonly maxMessageSize: number } | null } | null;
  on(event: "data", listener: (data: Uint8Array) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (err: Error) => void): unknown;
  destroy(err?: Error): void;
}

export interface PeerTransportSettings {
  /** Stop handing bytes to the channel while its bufferedAmount is at or above this. */
  readonly channelHighWaterBytes: number;
  /** bufferedAmountLowThreshold: `bufferedamountlow` fires when the channel drains below it. */
  readonly channelLowWaterBytes: number;
  /** Largest channel message we send (further capped by the peer's max-message-size). */
  readonly maxChunkBytes: number;
  /** Used when the connection does not report sctp.maxMessageSize. */
  readonly fallbackMaxMessageBytes: number;
}

export const defaultPeerTransportSettings: PeerTransportSettings = {
  channelHighWaterBytes: 1024 * 1024,
  channelLowWaterBytes: 256 * 1024,
  maxChunkBytes: 256 * 1024,
  fallbackMaxMessageBytes: 64 * 1024,
};

/** What the transport reports to its session (core TorrentSessionApi methods). */
export interface PeerTransportEvents {
  receive(id: ConnectionId, bytes: Uint8Array): void;
  drained(id: ConnectionId): void;
  removed(id: ConnectionId, reason: string): void;
}

export class PeerTransportError extends Error {
  override name = "PeerTransportError";
}

interface Link {
  readonly id: ConnectionId;
  readonly peer: DataPeer;
  readonly channel: DataChannelLike;
  readonly chunkBytes: number;
  readonly queue: Uint8Array[];
  queuedBytes: number;
  /** Offset already sent within queue[0]. */
  headOffset: number;
  closed: boolean;
  readonly onLow: () => void;
  /** The session was told bytes are pending and has not been told they drained. */
  needsDrained: boolean;
  flushScheduled: boolean;
}

let nextTransportNumber = 0;

/** The SessionTransport of one session: a map of connection ids to data channels. */
export class PeerTransport implements SessionTransport {
  readonly #links = new Map<ConnectionId, Link>();
  readonly #settings: PeerTransportSettings;
  readonly #prefix: string;
  #events: PeerTransportEvents | null = null;
  #counter = 0;
  #sentBytes = 0;

  constructor(settings: Partial<PeerTransportSettings> = {}) {
    this.#settings = { ...defaultPeerTransportSettings, ...settings };
    // Connection ids are unique per transport and, with this prefix, per page.
    this.#prefix = `t${nextTransportNumber++}`;
  }

  /** Set once the session exists (it is built with this transport as a component). */
  bind(events: PeerTransportEvents): void {
    this.#events = events;
  }

  get connectionCount(): number {
    return this.#links.size;
  }

  /** Bytes handed to data channels so far. */
  get sentBytes(): number {
    return this.#sentBytes;
  }

  /**
   * Adopts a connected peer. Returns its connection id; the caller then calls
   * session.addConnection(id, direction).
   */
  add(peer: DataPeer, label = "peer"): ConnectionId {
    const channel = peer._channel;
    if (channel === null || channel === undefined || channel.readyState !== "open") {
      throw new PeerTransportError("the peer has no open data channel");
    }
    const id = connectionId(`${this.#prefix}-${label.slice(0, 40)}-${this.#counter++}`);
    const peerMax = peer._pc?.sctp?.maxMessageSize;
    const maxMessage = typeof peerMax === "number" && peerMax > 0 ? peerMax : this.#settings.fallbackMaxMessageBytes;
    const link: Link = {
      id,
      peer,
      channel,
      chunkBytes: Math.max(1024, Math.min(maxMessage, this.#settings.maxChunkBytes)),
      queue: [],
      queuedBytes: 0,
      headOffset: 0,
      closed: false,
      onLow: () => this.#onLow(link),
      needsDrained: false,
      flushScheduled: false,
    };
    channel.bufferedAmountLowThreshold = this.#settings.channelLowWaterBytes;
    channel.addEventListener("bufferedamountlow", link.onLow);
    this.#links.set(id, link);
    peer.on("data", (data) => {
      if (link.closed) return;
      const bytes = data instanceof Uint8Array ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data as ArrayBuffer);
      this.#events?.receive(id, bytes);
    });
    peer.on("close", () => this.#gone(link, "the data channel closed"));
    peer.on("error", (err) => this.#gone(link, `connection error: ${err.message}`));
    return id;
  }

  send(id: ConnectionId, bytes: Uint8Array): void {
    const link = this.#links.get(id);
    if (link === undefined || link.closed || bytes.length === 0) return;
    link.queue.push(bytes);
    link.queuedBytes += bytes.length;
    // Coalesce: everything the session queues in this task goes out together,
    // and while the channel holds more than the low-water mark, bytes wait for
    // `bufferedamountlow` and leave as full-size messages (each send() has a
    // fixed cost; profiled as the seed's second largest).
    if (!link.flushScheduled) {
      link.flushScheduled = true;
      queueMicrotask(() => {
        link.flushScheduled = false;
        if (link.queuedBytes >= link.chunkBytes || safeBufferedAmount(link.channel) <= this.#settings.channelLowWaterBytes) this.#flush(link);
      });
    }
  }

  close(id: ConnectionId, reason: string): void {
    const link = this.#links.get(id);
    if (link === undefined) return;
    link.peer.destroy();
    this.#gone(link, reason);
  }

  bufferedBytes(id: ConnectionId): number {
    const link = this.#links.get(id);
    if (link === undefined) return 0;
    link.needsDrained = true;
    return link.queuedBytes + (link.closed ? 0 : safeBufferedAmount(link.channel));
  }

  /**
   * Safety net called on every session tick: `bufferedamountlow` only fires
   * when the channel crosses the threshold downwards, so a connection whose
   * session stopped below it is told it drained here.
   */
  poll(): void {
    for (const link of this.#links.values()) {
      this.#flush(link);
      this.#maybeDrained(link);
    }
  }

  /** Closes every connection. */
  closeAll(reason: string): void {
    for (const id of [...this.#links.keys()]) this.close(id, reason);
  }

  #onLow(link: Link): void {
    this.#flush(link);
    this.#maybeDrained(link);
  }

  #maybeDrained(link: Link): void {
    if (link.closed || !link.needsDrained) return;
    if (link.queuedBytes === 0 && safeBufferedAmount(link.channel) <= this.#settings.channelLowWaterBytes) {
      link.needsDrained = false;
      this.#events?.drained(link.id);
    }
  }

  #flush(link: Link): void {
    while (!link.closed && link.queuedBytes > 0 && safeBufferedAmount(link.channel) < this.#settings.channelHighWaterBytes) {
      const chunk = this.#takeChunk(link);
      try {
        link.channel.send(chunk);
        this.#sentBytes += chunk.length;
      } catch (err) {
        link.peer.destroy();
        this.#gone(link, `send failed: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
    }
  }

  /** Coalesces queued frames into one message of at most chunkBytes. */
  #takeChunk(link: Link): Uint8Array<ArrayBuffer> {
    const size = Math.min(link.chunkBytes, link.queuedBytes);
    const head = link.queue[0]!;
    if (link.headOffset === 0 && head.length === size && head.buffer instanceof ArrayBuffer) {
      // Already one full message (the session hands over 256 KiB chunks): send it as it is.
      link.queue.shift();
      link.queuedBytes -= size;
      return head as Uint8Array<ArrayBuffer>;
    }
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const head = link.queue[0]!;
      const take = Math.min(size - filled, head.length - link.headOffset);
      out.set(head.subarray(link.headOffset, link.headOffset + take), filled);
      filled += take;
      link.headOffset += take;
      if (link.headOffset === head.length) {
        link.queue.shift();
        link.headOffset = 0;
      }
    }
    link.queuedBytes -= size;
    return out;
  }

  #gone(link: Link, reason: string): void {
    if (link.closed) return;
    link.closed = true;
    link.queue.length = 0;
    link.queuedBytes = 0;
    try {
      link.channel.removeEventListener("bufferedamountlow", link.onLow);
    } catch {
      // The channel may already be torn down.
    }
    this.#links.delete(link.id);
    this.#events?.removed(link.id, reason);
  }
}

function safeBufferedAmount(channel: DataChannelLike): number {
  try {
    return channel.bufferedAmount;
  } catch {
    return 0;
  }
}

/** ICE servers from the tracker's /config.json ({ iceServers }); [] on loopback or when it is missing. */
export async function fetchIceServers(configUrl: string, fetchImpl: typeof fetch = fetch): Promise<RTCIceServer[]> {
  try {
    const res = await fetchImpl(configUrl);
    if (!res.ok) return [];
    const body: unknown = await res.json();
    if (typeof body !== "object" || body === null) return [];
    const servers = (body as { iceServers?: unknown }).iceServers;
    if (!Array.isArray(servers)) return [];
    return servers.filter(isIceServer);
  } catch {
    return [];
  }
}

function isIceServer(value: unknown): value is RTCIceServer {
  if (typeof value !== "object" || value === null) return false;
  const urls = (value as { urls?: unknown }).urls;
  const okUrls = typeof urls === "string" || (Array.isArray(urls) && urls.every((u) => typeof u === "string"));
  const username = (value as { username?: unknown }).username;
  const credential = (value as { credential?: unknown }).credential;
  return okUrls && (username === undefined || typeof username === "string") && (credential === undefined || typeof credential === "string");
}
