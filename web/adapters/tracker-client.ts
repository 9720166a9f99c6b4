// The WebTorrent WebSocket tracker client (protocols.md, "WebSocket tracker
// protocol"; webtorrent/bittorrent-tracker is the reference). One client per
// (torrent, tracker URL). It:
// - announces started / completed / stopped and re-announces at the tracker's
//   interval, sending min(numwant, 5) non-trickle offers, each from a fresh
//   initiator peer, with a random 20-byte offer_id; unanswered offers are
//   dropped after 50 s (as the reference client does);
// - answers offers the tracker relays (non-initiator peer, answer sent with
//   to_peer_id and offer_id) and routes relayed answers to the pending offer;
// - validates every message with core/tracker-protocol.ts: a malformed one is
//   ignored and reported in `message`, never thrown;
// - reconnects with exponential backoff (1 s doubling to 60 s, +-25% jitter),
//   shown as state "retrying" with retryAtMs.
// Environment-neutral: the WebSocket and the WebRTC peer come in as components,
// so the headless Node peer can use `ws` and a Node WebRTC implementation.
import type { InfoHash, PeerId } from "../../core/ids.ts";
import {
  encodeClientMessage,
  infoHashToWire,
  parseTrackerMessage,
  peerIdFromWire,
  peerIdToWire,
  wireOfferIdFromBytes,
  type ClientMessage,
  type SessionDescription,
  type TrackerMessage,
  type WireInfoHash,
  type WireOfferId,
  type WirePeerId,
} from "../../core/tracker-protocol.ts";

/** What we use of a WebSocket (the browser's, or `ws` in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** What we use of a simple-peer instance created with `trickle: false`. */
export interface SignalingPeer {
  signal(description: SessionDescription<"offer" | "answer">): void;
  once(event: "signal", listener: (data: { readonly type?: string; readonly sdp?: string }) => void): unknown;
  once(event: "connect", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
  once(event: "error", listener: (err: Error) => void): unknown;
  destroy(err?: Error): void;
}

export interface TrackerClientInit {
  /** ws:// or wss:// announce URL. */
  readonly announceUrl: string;
  readonly infoHash: InfoHash;
  readonly peerId: PeerId;
  /** At most this many offers per announce (reference client: 5). */
  readonly maxOffers?: number;
  /** Offers without an answer are dropped after this long (reference client: 50 s). */
  readonly offerTimeoutMs?: number;
  /** First reconnect delay; doubles per failure up to maxBackoffMs. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Used until the tracker says otherwise (reference tracker: 120 s). */
  readonly defaultIntervalMs?: number;
  /** Re-announces never come sooner than this, whatever the tracker says. */
  readonly minIntervalMs?: number;
}

export interface TrackerClientComponents<P extends SignalingPeer> {
  createSocket(url: string): WebSocketLike;
  /** A new non-trickle peer; initiators create the data channel and the offer. */
  createPeer(options: { readonly initiator: boolean }): P;
  randomBytes(n: number): Uint8Array;
  /** Epoch milliseconds (TrackerView.retryAtMs is shown to users). */
  nowMs(): number;
  /** Transfer counters for announces; left is null while the metadata is unknown. */
  stats(): { readonly uploaded: number; readonly downloaded: number; readonly left: number | null };
  /** How many more peers this torrent wants now (numwant); 0 sends no offers. */
  wantedPeers(): number;
  /** A data channel to a remote peer is open. The receiver owns the peer from now on. */
  onPeer(peer: P, remote: { readonly peerId: PeerId; readonly direction: "outbound" | "inbound" }): void;
  /** True when a data channel to this peer is already open or being opened (no duplicate connections). */
  isConnected?(peerId: PeerId): boolean;
  /** State, counts or message changed (for TrackerView). */
  onChange?(): void;
}

export type TrackerState = "connecting" | "connected" | "retrying" | "failed";

export interface TrackerStatus {
  readonly url: string;
  readonly state: TrackerState;
  readonly retryAtMs: number | null;
  readonly message: string | null;
  readonly seeders: number | null;
  readonly leechers: number | null;
}

export class TrackerUrlError extends Error {
  override name = "TrackerUrlError";
}

// WebSocket.OPEN in every implementation.
const OPEN = 1;

interface PendingOffer<P> {
  readonly peer: P;
  readonly timer: ReturnType<typeof setTimeout>;
  answered: boolean;
  /** The answerer, once its answer arrived. */
  remote: PeerId | undefined;
}

export class TrackerClient<P extends SignalingPeer> {
  readonly url: string;
  readonly #init: Required<Omit<TrackerClientInit, "announceUrl" | "infoHash" | "peerId">>;
  readonly #c: TrackerClientComponents<P>;
  readonly #wireInfoHash: WireInfoHash;
  readonly #wirePeerId: WirePeerId;
  #socket: WebSocketLike | null = null;
  #state: TrackerState = "connecting";
  #retryAtMs: number | null = null;
  #message: string | null = null;
  #seeders: number | null = null;
  #leechers: number | null = null;
  #failures = 0;
  #intervalMs: number;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #announceTimer: ReturnType<typeof setTimeout> | null = null;
  readonly #pending = new Map<WireOfferId, PendingOffer<P>>();
  /** Peers answering relayed offers, until they connect or time out. */
  readonly #answering = new Set<P>();
  #startedSent = false;
  #lastAnnounceAtMs: number | null = null;
  #completedPending = false;
  #stopped = false;
  #announcing = false;

  constructor(init: TrackerClientInit, components: TrackerClientComponents<P>) {
    let parsed: URL;
    try {
      parsed = new URL(init.announceUrl);
    } catch {
      throw new TrackerUrlError(`not a tracker URL: ${JSON.stringify(init.announceUrl.slice(0, 200))}`);
    }
    if (parsed.protocol !== "ws:" && parsed.protocol !== "wss:") {
      throw new TrackerUrlError(`a WebSocket tracker URL starts with ws:// or wss://, got ${JSON.stringify(init.announceUrl.slice(0, 200))}`);
    }
    this.url = init.announceUrl;
    this.#init = {
      maxOffers: init.maxOffers ?? 5,
      offerTimeoutMs: init.offerTimeoutMs ?? 50_000,
      minBackoffMs: init.minBackoffMs ?? 1_000,
      maxBackoffMs: init.maxBackoffMs ?? 60_000,
      defaultIntervalMs: init.defaultIntervalMs ?? 120_000,
      minIntervalMs: init.minIntervalMs ?? 10_000,
    };
    this.#c = components;
    this.#intervalMs = this.#init.defaultIntervalMs;
    this.#wireInfoHash = infoHashToWire(init.infoHash);
    this.#wirePeerId = peerIdToWire(init.peerId);
  }

  get status(): TrackerStatus {
    return {
      url: this.url,
      state: this.#state,
      retryAtMs: this.#retryAtMs,
      message: this.#message,
      seeders: this.#seeders,
      leechers: this.#leechers,
    };
  }

  /** Offers sent and not yet answered or expired. */
  get pendingOfferCount(): number {
    return this.#pending.size;
  }

  /** Milliseconds since the last announce was sent; null before the first. */
  get msSinceAnnounce(): number | null {
    return this.#lastAnnounceAtMs === null ? null : this.#c.nowMs() - this.#lastAnnounceAtMs;
  }

  /** The re-announce interval in use (the tracker's, once it has answered). */
  get intervalMs(): number {
    return this.#intervalMs;
  }

  start(): void {
    this.#stopped = false;
    this.#connect();
  }

  /** Announce `completed` now (the download finished). */
  completed(): void {
    this.#completedPending = true;
    void this.#announce();
  }

  /** Announce now (e.g. more peers are wanted) instead of waiting for the interval. */
  announceNow(): void {
    void this.#announce();
  }

  scrape(): void {
    this.#send({ kind: "scrape", infoHashes: [this.#wireInfoHash] });
  }

  /** Announces `stopped` when connected, then closes everything. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#socket?.readyState === OPEN && this.#startedSent) {
      const stats = this.#c.stats();
      this.#send({
        kind: "announce",
        infoHash: this.#wireInfoHash,
        peerId: this.#wirePeerId,
        left: stats.left,
        uploaded: stats.uploaded,
        downloaded: stats.downloaded,
        numwant: 0,
        event: "stopped",
        offers: [],
        droppedOffers: 0,
      });
    }
    this.#clearTimers();
    for (const [offerId, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.peer.destroy();
      this.#pending.delete(offerId);
    }
    for (const peer of this.#answering) peer.destroy();
    this.#answering.clear();
    const socket = this.#socket;
    this.#socket = null;
    if (socket !== null) {
      detach(socket);
      try {
        socket.close(1000, "stopped");
      } catch {
        // Already closing.
      }
    }
  }

  #clearTimers(): void {
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    if (this.#announceTimer !== null) clearTimeout(this.#announceTimer);
    this.#reconnectTimer = null;
    this.#announceTimer = null;
  }

  #setState(state: TrackerState, message: string | null | undefined = undefined): void {
    this.#state = state;
    if (message !== undefined) this.#message = message;
    if (state !== "retrying") this.#retryAtMs = null;
    this.#c.onChange?.();
  }

  #connect(): void {
    if (this.#stopped) return;
    this.#setState("connecting");
    let socket: WebSocketLike;
    try {
      socket = this.#c.createSocket(this.url);
    } catch (err) {
      this.#setState("failed", `cannot open ${this.url}: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.#socket = socket;
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      this.#setState("connected", null);
      this.#startedSent = false;
      void this.#announce();
      this.scrape();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#onMessage(event.data);
    };
    socket.onerror = () => {
      // A close event always follows; the reconnect happens there.
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#scheduleReconnect(this.#state === "connected" ? "the tracker closed the connection" : `cannot reach ${this.url}`);
    };
  }

  #scheduleReconnect(reason: string): void {
    if (this.#stopped) return;
    this.#clearTimers();
    const base = Math.min(this.#init.maxBackoffMs, this.#init.minBackoffMs * 2 ** this.#failures);
    this.#failures++;
    // +-25% jitter so that many clients of a restarted tracker do not return together.
    const jitter = 0.75 + 0.5 * this.#randomFraction();
    const delayMs = Math.round(base * jitter);
    this.#retryAtMs = this.#c.nowMs() + delayMs;
    this.#setState("retrying", `${reason}; retrying in ${Math.max(1, Math.round(delayMs / 1000))} s`);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      this.#connect();
    }, delayMs);
  }

  #randomFraction(): number {
    const b = this.#c.randomBytes(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 4294967296;
  }

  #send(message: ClientMessage): boolean {
    const socket = this.#socket;
    if (socket === null || socket.readyState !== OPEN) return false;
    try {
      socket.send(encodeClientMessage(message));
      return true;
    } catch {
      return false;
    }
  }

  async #announce(): Promise<void> {
    if (this.#stopped || this.#announcing) return;
    if (this.#socket === null || this.#socket.readyState !== OPEN) return;
    this.#announcing = true;
    try {
      if (this.#announceTimer !== null) clearTimeout(this.#announceTimer);
      this.#announceTimer = null;
      let event: "started" | "completed" | "update" = "update";
      if (!this.#startedSent) event = "started";
      else if (this.#completedPending) event = "completed";
      const wanted = Math.max(0, Math.floor(this.#c.wantedPeers()));
      // A `completed` announce carries no offers (the reference client's shape).
      const offerCount = event === "completed" ? 0 : Math.min(wanted, this.#init.maxOffers);
      const offers = await this.#makeOffers(offerCount);
      if (this.#stopped || this.#socket === null || this.#socket.readyState !== OPEN) {
        for (const o of offers) this.#dropOffer(o.offerId);
        return;
      }
      const stats = this.#c.stats();
      const sent = this.#send({
        kind: "announce",
        infoHash: this.#wireInfoHash,
        peerId: this.#wirePeerId,
        left: stats.left,
        uploaded: stats.uploaded,
        downloaded: stats.downloaded,
        numwant: wanted,
        event,
        // encodeClientMessage leaves offers out of a `completed` announce, so make none then.
        offers: event === "completed" ? [] : offers.map((o) => ({ offerId: o.offerId, offer: o.offer })),
        droppedOffers: 0,
      });
      if (!sent || event === "completed") for (const o of offers) this.#dropOffer(o.offerId);
      if (sent) {
        this.#lastAnnounceAtMs = this.#c.nowMs();
        if (event === "started") this.#startedSent = true;
        if (event === "completed") this.#completedPending = false;
      }
      this.#scheduleAnnounce(this.#intervalMs);
    } finally {
      this.#announcing = false;
    }
    // completed() arrived while offers were being made: say it now, not an interval later.
    if (this.#completedPending && this.#startedSent && !this.#stopped && this.#socket?.readyState === OPEN) void this.#announce();
  }

  #scheduleAnnounce(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#announceTimer !== null) clearTimeout(this.#announceTimer);
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = null;
      void this.#announce();
    }, delayMs);
  }

  /** Creates `count` initiator peers and waits for their complete (non-trickle) offers. */
  async #makeOffers(count: number): Promise<{ offerId: WireOfferId; offer: SessionDescription<"offer"> }[]> {
    const made = await Promise.all(
      Array.from({ length: count }, () =>
        new Promise<{ offerId: WireOfferId; offer: SessionDescription<"offer"> } | null>((resolve) => {
          let peer: P;
          try {
            peer = this.#c.createPeer({ initiator: true });
          } catch {
            resolve(null);
            return;
          }
          const offerId = wireOfferIdFromBytes(this.#c.randomBytes(20));
          const giveUp = setTimeout(() => {
            peer.destroy();
            resolve(null);
          }, this.#init.offerTimeoutMs);
          peer.once("error", () => {
            clearTimeout(giveUp);
            this.#dropOffer(offerId);
            resolve(null);
          });
          peer.once("signal", (data) => {
            clearTimeout(giveUp);
            if (data.type !== "offer" || typeof data.sdp !== "string") {
              peer.destroy();
              resolve(null);
              return;
            }
            const timer = setTimeout(() => this.#expireOffer(offerId), this.#init.offerTimeoutMs);
            this.#pending.set(offerId, { peer, timer, answered: false, remote: undefined });
            peer.once("connect", () => {
              const pending = this.#pending.get(offerId);
              if (pending === undefined || pending.peer !== peer || pending.remote === undefined) return;
              clearTimeout(pending.timer);
              this.#pending.delete(offerId);
              this.#c.onPeer(peer, { peerId: pending.remote, direction: "outbound" });
            });
            resolve({ offerId, offer: { type: "offer", sdp: data.sdp } });
          });
        }),
      ),
    );
    return made.filter((m): m is { offerId: WireOfferId; offer: SessionDescription<"offer"> } => m !== null);
  }

  #expireOffer(offerId: WireOfferId): void {
    // Unanswered (or answered but never connected) after offerTimeoutMs: drop it.
    this.#dropOffer(offerId);
  }

  #dropOffer(offerId: WireOfferId): void {
    const pending = this.#pending.get(offerId);
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    this.#pending.delete(offerId);
    pending.peer.destroy();
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      this.#report("ignored a binary message from the tracker");
      return;
    }
    const parsed = parseTrackerMessage(data);
    if (!parsed.ok) {
      this.#report(`ignored a malformed tracker message: ${parsed.error.message}`);
      return;
    }
    this.#handle(parsed.value);
  }

  #report(message: string): void {
    this.#message = message;
    this.#c.onChange?.();
  }

  #handle(message: TrackerMessage): void {
    switch (message.kind) {
      case "announce-response": {
        if (message.infoHash !== this.#wireInfoHash) return;
        this.#failures = 0;
        this.#intervalMs = Math.max(this.#init.minIntervalMs, Math.round(message.intervalS * 1000));
        this.#seeders = message.complete;
        this.#leechers = message.incomplete;
        this.#message = message.warning ?? null;
        this.#scheduleAnnounce(this.#intervalMs);
        this.#c.onChange?.();
        return;
      }
      case "scrape-response": {
        const counts = message.files.get(this.#wireInfoHash);
        if (counts === undefined) return;
        this.#seeders = counts.complete;
        this.#leechers = counts.incomplete;
        this.#c.onChange?.();
        return;
      }
      case "failure": {
        if (message.infoHash !== undefined && message.infoHash !== this.#wireInfoHash) return;
        this.#report(`tracker: ${message.reason}`);
        return;
      }
      case "offer": {
        if (message.infoHash !== this.#wireInfoHash || message.peerId === this.#wirePeerId) return;
        this.#answerOffer(message.peerId, message.offerId, message.offer);
        return;
      }
      case "answer": {
        if (message.infoHash !== this.#wireInfoHash) return;
        const pending = this.#pending.get(message.offerId);
        if (pending === undefined || pending.answered) return;
        pending.answered = true;
        pending.remote = peerIdFromWire(message.peerId);
        if (this.#c.isConnected?.(pending.remote) === true) {
          // Already connected to this peer (it answered another offer, or we answered its): one channel is enough.
          this.#dropOffer(message.offerId);
          return;
        }
        try {
          pending.peer.signal(message.answer);
        } catch {
          this.#dropOffer(message.offerId);
        }
        return;
      }
      default: {
        const never: never = message;
        void never;
      }
    }
  }

  #answerOffer(from: WirePeerId, offerId: WireOfferId, offer: SessionDescription<"offer">): void {
    if (this.#c.wantedPeers() <= 0) return;
    const remote = peerIdFromWire(from);
    if (this.#c.isConnected?.(remote) === true) return;
    let peer: P;
    try {
      peer = this.#c.createPeer({ initiator: false });
    } catch {
      return;
    }
    this.#answering.add(peer);
    const timer = setTimeout(() => {
      if (this.#answering.delete(peer)) peer.destroy();
    }, this.#init.offerTimeoutMs);
    const forget = (): void => {
      clearTimeout(timer);
      this.#answering.delete(peer);
    };
    peer.once("error", forget);
    peer.once("close", forget);
    peer.once("signal", (data) => {
      if (data.type !== "answer" || typeof data.sdp !== "string") {
        forget();
        peer.destroy();
        return;
      }
      this.#send({
        kind: "answer",
        infoHash: this.#wireInfoHash,
        peerId: this.#wirePeerId,
        toPeerId: from,
        offerId,
        answer: { type: "answer", sdp: data.sdp },
      });
    });
    peer.once("connect", () => {
      if (!this.#answering.has(peer)) return;
      forget();
      this.#c.onPeer(peer, { peerId: remote, direction: "inbound" });
    });
    try {
      peer.signal(offer);
    } catch {
      forget();
      peer.destroy();
    }
  }
}

function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  socket.onerror = null;
}

