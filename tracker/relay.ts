// The tracker's request handling without sockets: parsed client messages in,
// text for connections out (through each Connection's `send`), with the swarm
// store and the routing of offers/answers between tracker processes passed in.
// Tests drive it with a MemoryStore, a virtual clock and a seeded random.
//
// Rules (WebTorrent tracker protocol, shared/design/protocols.md, plus aquatic_ws):
// - announce -> `{action:"announce", interval, info_hash, complete, incomplete}`
//   to the announcer, and each offer to one other peer of the swarm;
// - an answer is relayed only when it matches an offer this tracker relayed to
//   that peer and that has not expired;
// - one peer_id per swarm per connection; another connection cannot speak for it;
// - at most maxOffersPerAnnounce offers (the parser drops the rest, we warn);
// - answers get no announce response (as the reference tracker does).
import type { Clock } from "../core/clock.ts";
import type { Random } from "../core/random.ts";
import {
  encodeTrackerMessage,
  parseClientMessage,
  type AnnounceRequest,
  type AnswerRequest,
  type ClientMessage,
  type ScrapeRequest,
  type SessionDescription,
  type TrackerParseLimits,
  type WireInfoHash,
  type WireOfferId,
  type WirePeerId,
} from "../core/tracker-protocol.ts";
import { isPromise, type MaybePromise, type StoreAnnounceOutcome, type SwarmStore } from "./store.ts";
import {
  connKey,
  expireOffers,
  parseConnKey,
  refusalReasons,
  rememberOffer,
  takeOfferForAnswer,
  type ConnKey,
  type PendingOffers,
} from "./swarm-logic.ts";

export interface RelayConfig {
  /** Told to clients as `interval` (seconds on the wire). */
  announceIntervalMs: number;
  /** How long a relayed offer waits for its answer (the reference client gives up after 50 s). */
  offerTtlMs: number;
  maxPendingOffersPerConnection: number;
  maxSwarmsPerConnection: number;
  /** Messages of one connection waiting for an async store; past this they are refused. */
  maxQueuedMessagesPerConnection: number;
  parseLimits: TrackerParseLimits;
}

/** An offer or answer on its way to a connection, possibly in another tracker process. */
export type Delivery =
  | {
      kind: "offer";
      to: ConnKey;
      toPeerId: WirePeerId;
      infoHash: WireInfoHash;
      fromPeerId: WirePeerId;
      fromConn: ConnKey;
      offerId: WireOfferId;
      offer: SessionDescription<"offer">;
    }
  | {
      kind: "answer";
      to: ConnKey;
      toPeerId: WirePeerId;
      infoHash: WireInfoHash;
      fromPeerId: WirePeerId;
      offerId: WireOfferId;
      answer: SessionDescription<"answer">;
    };

/** Sends deliveries to connections of other tracker processes (Redis pub/sub). */
export type RemoteRoute = (processId: string, delivery: Delivery) => void;

export interface Connection {
  readonly number: number;
  readonly key: ConnKey;
  /** Swarms this connection announced in, with the peer_id it used there. */
  readonly swarms: Map<WireInfoHash, WirePeerId>;
  /** Offers relayed to this connection, awaiting its answers. */
  readonly pending: PendingOffers;
  readonly send: (text: string) => void;
  /** Tail of this connection's message queue while the store answers asynchronously. */
  queue: Promise<void> | null;
  queued: number;
  closed: boolean;
}

export interface RelayCounters {
  messages: number;
  announces: number;
  answers: number;
  scrapes: number;
  offersRelayed: number;
  answersRelayed: number;
  answersRefused: number;
  badMessages: number;
  deliveriesDropped: number;
  storeErrors: number;
}

export type HandleOutcome = "ok" | "bad";

export class Relay {
  readonly connections = new Map<number, Connection>();
  /** The same connections by ConnKey: routing a delivery to a local connection is one lookup. */
  private readonly byKey = new Map<ConnKey, Connection>();
  readonly counters: RelayCounters = {
    messages: 0,
    announces: 0,
    answers: 0,
    scrapes: 0,
    offersRelayed: 0,
    answersRelayed: 0,
    answersRefused: 0,
    badMessages: 0,
    deliveriesDropped: 0,
    storeErrors: 0,
  };
  private nextNumber = 1;
  private readonly intervalS: number;

  constructor(
    private readonly store: SwarmStore,
    private readonly config: RelayConfig,
    readonly processId: string,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly remote: RemoteRoute | null = null,
  ) {
    this.intervalS = Math.max(1, Math.round(config.announceIntervalMs / 1000));
  }

  open(send: (text: string) => void): Connection {
    const number = this.nextNumber++;
    const conn: Connection = { number, key: connKey(this.processId, number), swarms: new Map(), pending: new Map(), send, queue: null, queued: 0, closed: false };
    this.connections.set(number, conn);
    this.byKey.set(conn.key, conn);
    return conn;
  }

  /**
   * Handles one text frame. Bad input gets `{"failure reason"}` (with action and
   * info_hash when known) and returns "bad" so the caller can count abuse.
   */
  handleText(conn: Connection, text: string): HandleOutcome {
    this.counters.messages++;
    const parsed = parseClientMessage(text, this.config.parseLimits);
    if (!parsed.ok) {
      this.counters.badMessages++;
      const e = parsed.error;
      conn.send(encodeTrackerMessage({ kind: "failure", reason: e.message, ...(e.action ? { action: e.action } : {}), ...(e.infoHash ? { infoHash: e.infoHash } : {}) }));
      return "bad";
    }
    return this.enqueue(conn, parsed.value);
  }

  /** Handles a parsed message in order with the connection's earlier messages. */
  enqueue(conn: Connection, message: ClientMessage): HandleOutcome {
    if (conn.queue) {
      if (conn.queued >= this.config.maxQueuedMessagesPerConnection) {
        this.counters.badMessages++;
        this.fail(conn, "too many messages in flight; slow down", message);
        return "bad";
      }
      conn.queued++;
      this.track(
        conn,
        conn.queue.then(() => {
          conn.queued--;
          if (conn.closed) return;
          return this.guarded(conn, message);
        }),
      );
      return "ok";
    }
    const result = this.guarded(conn, message);
    if (isPromise(result)) this.track(conn, result);
    return "ok";
  }

  /** Runs a message; a failing store (e.g. Redis down) costs this message a failure reply, never the process. */
  private guarded(conn: Connection, message: ClientMessage): MaybePromise<void> {
    const onError = (err: unknown): void => {
      this.counters.storeErrors++;
      if (!conn.closed) this.fail(conn, `tracker store unavailable: ${err instanceof Error ? err.message : String(err)}`, message);
    };
    try {
      const result = this.handle(conn, message);
      if (isPromise(result)) return result.catch(onError);
    } catch (err) {
      onError(err);
    }
  }

  private track(conn: Connection, work: Promise<void>): void {
    const tail: Promise<void> = work.then(() => {
      if (conn.queue === tail) conn.queue = null;
    });
    conn.queue = tail;
  }

  handle(conn: Connection, message: ClientMessage): MaybePromise<void> {
    switch (message.kind) {
      case "announce":
        return this.onAnnounce(conn, message);
      case "answer":
        return this.onAnswer(conn, message);
      case "scrape":
        return this.onScrape(conn, message);
      default: {
        const never: never = message;
        throw new Error(`unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  private fail(conn: Connection, reason: string, message: ClientMessage | null): void {
    const action = message?.kind === "scrape" ? "scrape" : "announce";
    const infoHash = message && message.kind !== "scrape" ? message.infoHash : undefined;
    conn.send(encodeTrackerMessage({ kind: "failure", reason, action, ...(infoHash ? { infoHash } : {}) }));
  }

  private onAnnounce(conn: Connection, req: AnnounceRequest): MaybePromise<void> {
    this.counters.announces++;
    const known = conn.swarms.get(req.infoHash);
    if (known !== undefined && known !== req.peerId) {
      this.fail(conn, "one peer_id per swarm per connection: this connection announced another peer_id here", req);
      return;
    }
    if (known === undefined && req.event !== "stopped" && conn.swarms.size >= this.config.maxSwarmsPerConnection) {
      this.fail(conn, `a connection may join at most ${this.config.maxSwarmsPerConnection} swarms`, req);
      return;
    }
    const input = { infoHash: req.infoHash, peerId: req.peerId, conn: conn.key, event: req.event, left: req.left, offerCount: req.offers.length };
    const outcome = this.store.announce(input, this.clock.nowMs(), this.random);
    if (isPromise(outcome)) return outcome.then((o) => this.afterAnnounce(conn, req, o));
    this.afterAnnounce(conn, req, outcome);
  }

  private afterAnnounce(conn: Connection, req: AnnounceRequest, outcome: StoreAnnounceOutcome): void {
    if (!outcome.ok) {
      this.fail(conn, refusalReasons[outcome.refusal], req);
      return;
    }
    if (outcome.member) conn.swarms.set(req.infoHash, req.peerId);
    else conn.swarms.delete(req.infoHash);
    if (conn.closed) {
      // The socket closed while the store was answering: undo the join.
      if (outcome.member) {
        const left = this.store.leave(req.infoHash, req.peerId, conn.key);
        if (isPromise(left)) left.catch(() => (this.counters.storeErrors++, undefined));
      }
      return;
    }
    conn.send(
      encodeTrackerMessage({
        kind: "announce-response",
        infoHash: req.infoHash,
        intervalS: this.intervalS,
        complete: outcome.complete,
        incomplete: outcome.incomplete,
        ...(req.droppedOffers > 0 ? { warning: `only the first ${req.offers.length} offers were relayed` } : {}),
      }),
    );
    const n = Math.min(outcome.targets.length, req.offers.length);
    for (let i = 0; i < n; i++) {
      const target = outcome.targets[i]!;
      const offer = req.offers[i]!;
      this.route({
        kind: "offer",
        to: target.conn,
        toPeerId: target.peerId,
        infoHash: req.infoHash,
        fromPeerId: req.peerId,
        fromConn: conn.key,
        offerId: offer.offerId,
        offer: offer.offer,
      });
    }
  }

  private onAnswer(conn: Connection, req: AnswerRequest): void {
    this.counters.answers++;
    const offer = takeOfferForAnswer(conn.pending, req, this.clock.nowMs());
    if (!offer) {
      this.counters.answersRefused++;
      // aquatic_ws's wording: the client learns why its answer went nowhere.
      this.fail(conn, "Could not find the offer corresponding to your answer. It may have expired.", req);
      return;
    }
    this.route({ kind: "answer", to: offer.offererConn, toPeerId: req.toPeerId, infoHash: req.infoHash, fromPeerId: req.peerId, offerId: req.offerId, answer: req.answer });
  }

  private onScrape(conn: Connection, req: ScrapeRequest): MaybePromise<void> {
    this.counters.scrapes++;
    const result = this.store.scrape(req.infoHashes, this.clock.nowMs());
    const reply = (counts: { complete: number; incomplete: number; downloaded: number }[]): void => {
      const files = new Map(req.infoHashes.map((h, i) => [h, counts[i]!] as const));
      if (!conn.closed) conn.send(encodeTrackerMessage({ kind: "scrape-response", files }));
    };
    if (isPromise(result)) return result.then(reply);
    reply(result);
  }

  private route(delivery: Delivery): void {
    const local = this.byKey.get(delivery.to);
    if (local) {
      this.deliverTo(local, delivery);
      return;
    }
    const where = parseConnKey(delivery.to);
    if (where && where.processId !== this.processId && this.remote) {
      this.remote(where.processId, delivery);
    } else {
      this.counters.deliveriesDropped++;
    }
  }

  /** Delivers an offer or answer to a connection of this process (from here or from another process). */
  deliver(delivery: Delivery): void {
    const conn = this.byKey.get(delivery.to);
    if (!conn) {
      this.counters.deliveriesDropped++;
      return;
    }
    this.deliverTo(conn, delivery);
  }

  private deliverTo(conn: Connection, delivery: Delivery): void {
    // The target must still be that peer in that swarm on that connection.
    if (conn.closed || conn.swarms.get(delivery.infoHash) !== delivery.toPeerId) {
      this.counters.deliveriesDropped++;
      return;
    }
    switch (delivery.kind) {
      case "offer":
        rememberOffer(
          conn.pending,
          delivery.offerId,
          { infoHash: delivery.infoHash, targetPeerId: delivery.toPeerId, offererPeerId: delivery.fromPeerId, offererConn: delivery.fromConn, expiresAtMs: this.clock.nowMs() + this.config.offerTtlMs },
          this.config.maxPendingOffersPerConnection,
        );
        this.counters.offersRelayed++;
        conn.send(encodeTrackerMessage({ kind: "offer", infoHash: delivery.infoHash, peerId: delivery.fromPeerId, offerId: delivery.offerId, offer: delivery.offer }));
        return;
      case "answer":
        this.counters.answersRelayed++;
        conn.send(encodeTrackerMessage({ kind: "answer", infoHash: delivery.infoHash, peerId: delivery.fromPeerId, offerId: delivery.offerId, answer: delivery.answer }));
        return;
      default: {
        const never: never = delivery;
        throw new Error(`unhandled delivery ${JSON.stringify(never)}`);
      }
    }
  }

  /** The connection closed: it leaves every swarm it announced in. */
  close(conn: Connection): MaybePromise<void> {
    if (conn.closed) return;
    conn.closed = true;
    this.connections.delete(conn.number);
    this.byKey.delete(conn.key);
    conn.pending.clear();
    const leaving: Promise<void>[] = [];
    for (const [infoHash, peerId] of conn.swarms) {
      const r = this.store.leave(infoHash, peerId, conn.key);
      if (isPromise(r)) leaving.push(r);
    }
    conn.swarms.clear();
    if (leaving.length > 0) return Promise.all(leaving).then(() => undefined);
  }

  /** Periodic cleaning: expired peers in the store, expired offers of every connection. */
  sweep(): MaybePromise<void> {
    const nowMs = this.clock.nowMs();
    for (const conn of this.connections.values()) expireOffers(conn.pending, nowMs);
    return this.store.sweep(nowMs);
  }
}
