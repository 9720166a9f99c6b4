// Flow-level swarm simulator (shared/design/algorithms.md, "Simulation method").
//
// Every peer runs the real TorrentEngine from core/engine (the same picker,
// choker, request pipelining, endgame and verification bookkeeping the browser
// runs), fed WireMessage objects instead of bytes, on a virtual clock with a
// seeded random generator: a run replays exactly from its seed.
//
// The network model:
//  - time advances in steps of `stepMs`;
//  - a block (a `piece` message) is a flow on the link sender -> receiver. In
//    each step the active links get rates close to the max-min fair share of
//    both the sender's upload and the receiver's download (as TCP flows
//    sharing two bottlenecks): alternating water-filling, see transfer().
//    (Before, each link was capped at an equal share of the receiver's
//    download even when its sender could not fill it, which left fast
//    uplinks idle; `downlinkSharing: "equal"` keeps that model.)
//  - a sender keeps at most `linkQueueBlocks` blocks queued per link (the
//    session's send high-water mark): later requests wait in the engine,
//    where a choke still clears them;
//  - control messages (have, request, choke, ...) are tiny: they take only
//    the link's latency (the sum of both peers' access latencies);
//  - arrivals (flash crowd or Poisson), departures (leave on completion or
//    seed on), free-riders (never unchoke, upload 0), and the seed leaving once
//    the downloaders hold a full copy.
// Piece data is not materialised (a shared zero buffer stands in); the
// byte-exact path is exercised by sim/byte-sim.ts with full TorrentSessions.
import { fluidBoundSeconds } from "../core/fluid-bound.ts";
import { seededRandom, type Random } from "../core/random.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import type { WireMessage } from "../core/wire/messages.ts";
import { TorrentEngine, type UploadRequest } from "../core/engine/engine.ts";
import { connectionId, type ConnectionId } from "../core/engine/session-types.ts";
import { blockBytes, resolveSettings, type FullSettings } from "../core/engine/settings.ts";
import { defaultSimConfig, drawCapacity, type SimConfig } from "./scenario.ts";
import { uploadCensus, type CensusPeer, type UploadCensus } from "./upload-census.ts";

/** Blocks a sender keeps queued on one link (its send buffer). */
export const linkQueueBlocks = 2;
/** Alternating water-filling rounds per step of the "max-min" flow model (see transfer()). */
export const flowRounds = 3;

/**
 * The water level L at which the first `n` demands, each taking min(demand, L),
 * add up to `capacity`; Infinity when they all fit. Sorts `values` in place.
 */
export function waterLevel(values: Float64Array, n: number, capacity: number): number {
  let sum = 0;
  for (let k = 0; k < n; k++) sum += values[k]!;
  if (sum <= capacity) return Infinity;
  sortPrefix(values, n);
  let left = capacity;
  for (let k = 0; k < n; k++) {
    const share = left / (n - k);
    if (values[k]! >= share) return share;
    left -= values[k]!;
  }
  return Infinity;
}

/** Sorts values[0..n) ascending in place: insertion sort for the usual few links, no subarray view to allocate. */
function sortPrefix(values: Float64Array, n: number): void {
  if (n > 24) {
    values.subarray(0, n).sort();
    return;
  }
  for (let k = 1; k < n; k++) {
    const x = values[k]!;
    let j = k - 1;
    while (j >= 0 && values[j]! > x) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = x;
  }
}

/** Wire overhead of a piece message (length prefix, id, index, begin). */
const pieceOverheadBytes = 13;

interface Link {
  readonly from: SimPeer;
  readonly to: SimPeer;
  /** The key `to`'s engine uses for `from`. */
  readonly keyAtTo: ConnectionId;
  /** The key `from`'s engine uses for `to`. */
  readonly keyAtFrom: ConnectionId;
  readonly latencyMs: number;
  /** Blocks queued to send (at most `linkQueueBlocks`). */
  readonly queue: UploadRequest[];
  /** Bytes left of the block at the head of the queue. */
  headLeft: number;
  active: boolean;
  rate: number;
  /** The most the receiver's downlink grants this link in the current step, bytes/s. */
  cap: number;
  /** Bytes moved in the current step (block round-robin: the receiver's grant holds across turns). */
  stepBytes: number;
  closed: boolean;
}

interface SimPeer {
  readonly id: number;
  readonly isSeed: boolean;
  readonly freeRider: boolean;
  readonly upBps: number;
  readonly downBps: number;
  readonly latencyMs: number;
  readonly arriveAtMs: number;
  engine: TorrentEngine | null;
  /** Outgoing links by the neighbour's id. */
  readonly out: Map<number, Link>;
  /** Incoming links by the neighbour's id. */
  readonly inn: Map<number, Link>;
  /** The neighbours (as `out`, in the same order): a `have` goes to each. */
  readonly neighbours: SimPeer[];
  activeOut: Link[];
  activeIn: number;
  /** The active incoming links, gathered during transfer() only. */
  readonly activeInLinks: Link[];
  completedAtMs: number | null;
  leftAtMs: number | null;
  uploadedBytes: number;
  /**
   * Messages due to this peer in the current step, in order, as triples in one
   * array (see dMsg): for a `have` the sender's key and the piece index (the
   * engine ignores a key it no longer knows, so a closed link needs no check).
   */
  readonly inbox: Slot[];
}

/**
 * What a wheel bucket (and a peer's inbox) holds, as flat triples in one array
 * (no object per delivery): a kind, then two operands.
 *  - `dMsg`: the link, the engine's message;
 *  - `dPiece`: the link, the UploadRequest served (the `piece` message is built when it is handed over);
 *  - `dHave`: the sender peer (wheel) or its key (inbox), the piece index (TorrentEngine.handleHave).
 */
const dMsg = 0;
const dPiece = 1;
const dHave = 2;
type Slot = number | Link | SimPeer | WireMessage | UploadRequest | ConnectionId;
/** The one mutable `piece` message handed to engines: handle() reads its fields and keeps none of it. */
interface MutablePiece {
  readonly type: "piece";
  index: number;
  begin: number;
  block: Uint8Array;
}

export interface SimSample {
  readonly t: number;
  /** Copies of the rarest piece among downloaders present (the initial seed excluded). */
  readonly minCopies: number;
  readonly meanCopies: number;
  readonly completed: number;
  readonly present: number;
  /** Payload bytes uploaded by everyone so far. */
  readonly uploadedBytes: number;
  /** Payload bytes the initial seed uploaded so far. */
  readonly seedUploadedBytes: number;
  /** Why downloaders' uplinks are idle (upload-census.ts); only while `idleCensusUntilS` lasts. */
  readonly census?: UploadCensus;
}

export interface PeerOutcome {
  readonly arrivedS: number;
  readonly completedS: number | null;
  readonly uploadBytesPerS: number;
  readonly freeRider: boolean;
}

export interface SimResult {
  readonly config: SimConfig;
  readonly peers: number;
  readonly fileBytes: number;
  /** From the first arrival until the last downloader finished, s. */
  readonly distributionTimeS: number;
  readonly fluidBoundS: number;
  readonly ratio: number;
  /** Mean of (completion - arrival) over downloaders that finished, s. */
  readonly meanCompletionS: number;
  readonly meanCompletionContributorsS: number;
  readonly meanCompletionFreeRidersS: number | null;
  readonly seedUploadedCopies: number;
  readonly seedLeftAtS: number | null;
  readonly completed: number;
  readonly allCompleted: boolean;
  readonly samples: readonly SimSample[];
  readonly outcomes: readonly PeerOutcome[];
  /** Block deliveries simulated (a cost measure). */
  readonly blocksDelivered: number;
  readonly virtualS: number;
}

/** Where a run is, for progress reports on long runs. */
export interface SimProgress {
  readonly virtualS: number;
  readonly blocksDelivered: number;
  readonly completed: number;
  readonly present: number;
}

export interface SimHooks {
  /** Called every `progressEveryS` virtual seconds. */
  readonly onProgress?: (p: SimProgress) => void;
  readonly progressEveryS?: number;
}

export function runSwarm(partial: Partial<SimConfig> = {}, hooks: SimHooks = {}): SimResult {
  const cfg: SimConfig = { ...defaultSimConfig, ...partial };
  const random: Random = seededRandom(cfg.seed);
  const fileBytes = cfg.pieces * cfg.pieceBytes;
  const shape = { pieceCount: cfg.pieces, pieceLength: cfg.pieceBytes, totalLength: fileBytes };
  let nowMs = 0;
  const clock = { nowMs: (): number => nowMs };
  const stepMs = cfg.stepMs;
  const roundRobin = cfg.uploadScheduling === "block-round-robin";

  const common: Partial<FullSettings> = { ...cfg.engine, pieceSelection: cfg.pieceSelection };
  // Choker off: every interested peer is unchoked (no tit-for-tat, no reciprocation rule, no optimistic rotation needed).
  const settingsFor = (freeRider: boolean): FullSettings =>
    resolveSettings({
      ...common,
      ...(cfg.choker ? {} : { uploadSlots: cfg.maxConnections + 1, regularSlotsNeedReciprocation: false }),
      ...(freeRider ? { uploadSlots: 0, optimisticUnchokeSlots: 0 } : {}),
    });
  const normalSettings = settingsFor(false);
  const freeRiderSettings = settingsFor(true);

  // --- peers -------------------------------------------------------------------
  const drawLatency = (): number => cfg.latencyMs[0] + random.next() * (cfg.latencyMs[1] - cfg.latencyMs[0]);
  const seedPeer: SimPeer = makePeer(0, true, false, cfg.seedUploadBytesPerS ?? cfg.meanUploadBytesPerS, Infinity, drawLatency(), 0);
  const peers: SimPeer[] = [seedPeer];
  let arrival = 0;
  for (let i = 1; i <= cfg.peers; i++) {
    const cap = drawCapacity(cfg, random);
    const freeRider = random.next() < cfg.freeRiderFraction;
    if (cfg.arrivals === "flash") arrival = cfg.flashSpreadS > 0 ? random.next() * cfg.flashSpreadS * 1000 : 0;
    else arrival += (-Math.log(1 - random.next()) / cfg.arrivalRatePerS) * 1000;
    peers.push(makePeer(i, false, freeRider, freeRider ? 0 : cap.uploadBytesPerS, cap.downloadBytesPerS, drawLatency(), Math.round(arrival)));
  }
  const byArrival = peers.slice(1).sort((a, b) => a.arriveAtMs - b.arriveAtMs || a.id - b.id);
  let nextArrival = 0;
  const present: SimPeer[] = [];
  const presentIndex = new Map<number, number>();
  /** `present` changed since the tick phases were listed. */
  let presentChanged = true;

  const fluidBoundS = fluidBoundSeconds({
    fileBytes,
    seedUploadBytesPerS: seedPeer.upBps,
    peers: peers.slice(1).map((p) => ({ uploadBytesPerS: p.upBps, downloadBytesPerS: p.downBps })),
  });

  // --- delivery wheel (latency) ---------------------------------------------------
  const maxLatency = 2 * cfg.latencyMs[1] + stepMs;
  const wheelSize = Math.ceil(maxLatency / stepMs) + 2;
  const wheel: Slot[][] = Array.from({ length: wheelSize }, () => []);
  /** The bucket being delivered is swapped for this empty one (deliveries it schedules land elsewhere). */
  let spareBucket: Slot[] = [];
  let stepNo = 0;
  const schedule = (delayMs: number, kind: number, a: Slot, b: Slot): void => {
    const steps = Math.max(1, Math.ceil(delayMs / stepMs));
    wheel[(stepNo + steps) % wheelSize]!.push(kind, a, b);
  };
  const meanLatency = (cfg.latencyMs[0] + cfg.latencyMs[1]) / 2;

  // --- bookkeeping -----------------------------------------------------------------
  const copies = new Int32Array(cfg.pieces);
  let covered = 0;
  let completedCount = 0;
  let blocksDelivered = 0;
  let totalUploaded = 0;
  let seedLeftAtMs: number | null = null;
  const samples: SimSample[] = [];
  const zeroBlocks = new Map<number, Uint8Array>();
  const zeroBlock = (n: number): Uint8Array => {
    let b = zeroBlocks.get(n);
    if (b === undefined) zeroBlocks.set(n, (b = new Uint8Array(n)));
    return b;
  };

  function makePeer(id: number, isSeed: boolean, freeRider: boolean, up: number, down: number, latencyMs: number, arriveAtMs: number): SimPeer {
    return {
      id,
      isSeed,
      freeRider,
      upBps: up,
      downBps: down,
      latencyMs,
      arriveAtMs,
      engine: null,
      out: new Map(),
      inn: new Map(),
      neighbours: [],
      activeOut: [],
      activeIn: 0,
      activeInLinks: [],
      completedAtMs: null,
      leftAtMs: null,
      uploadedBytes: 0,
      inbox: [],
    };
  }

  // One key string per peer id, shared by every engine: the engines' Map lookups then
  // compare keys by identity instead of by content.
  const keys: ConnectionId[] = [];
  const keyOf = (id: number): ConnectionId => (keys[id] ??= connectionId(String(id)));

  function join(p: SimPeer): void {
    p.engine = new TorrentEngine({
      shape,
      settings: p.freeRider ? freeRiderSettings : normalSettings,
      clock,
      random: seededRandom((cfg.seed * 1_000_003 + p.id * 7919) >>> 0),
      ...(p.isSeed ? { verified: Bitfield.full(cfg.pieces) } : {}),
    });
    presentIndex.set(p.id, present.length);
    present.push(p);
    presentChanged = true;
  }

  function connectSome(p: SimPeer, want: number): void {
    if (present.length <= 1) return;
    let tries = want * 3;
    while (want > 0 && tries-- > 0) {
      const q = present[random.int(present.length)]!;
      if (q === p || p.out.has(q.id) || q.out.size >= cfg.maxConnections || p.out.size >= cfg.maxConnections) continue;
      connect(p, q);
      want--;
    }
  }

  function connect(a: SimPeer, b: SimPeer): void {
    const lat = a.latencyMs + b.latencyMs;
    const ab: Link = { from: a, to: b, keyAtTo: keyOf(a.id), keyAtFrom: keyOf(b.id), latencyMs: lat, queue: [], headLeft: 0, active: false, rate: 0, cap: 0, stepBytes: 0, closed: false };
    const ba: Link = { from: b, to: a, keyAtTo: keyOf(b.id), keyAtFrom: keyOf(a.id), latencyMs: lat, queue: [], headLeft: 0, active: false, rate: 0, cap: 0, stepBytes: 0, closed: false };
    a.out.set(b.id, ab);
    b.inn.set(a.id, ab);
    b.out.set(a.id, ba);
    a.inn.set(b.id, ba);
    a.neighbours.push(b);
    b.neighbours.push(a);
    a.engine!.addPeer(ab.keyAtFrom, true);
    b.engine!.addPeer(ba.keyAtFrom, true);
    drain(a);
    drain(b);
  }

  function disconnect(a: SimPeer, b: SimPeer): void {
    const ab = a.out.get(b.id);
    const ba = b.out.get(a.id);
    if (ab === undefined || ba === undefined) return;
    for (const l of [ab, ba]) {
      l.closed = true;
      if (l.active) deactivate(l);
      l.queue.length = 0;
    }
    a.out.delete(b.id);
    b.inn.delete(a.id);
    b.out.delete(a.id);
    a.inn.delete(b.id);
    a.neighbours.splice(a.neighbours.indexOf(b), 1);
    b.neighbours.splice(b.neighbours.indexOf(a), 1);
    a.engine?.removePeer(ab.keyAtFrom);
    b.engine?.removePeer(ba.keyAtFrom);
    if (a.engine) drain(a);
    if (b.engine) drain(b);
  }

  function leave(p: SimPeer): void {
    if (p.engine === null) return;
    for (const id of [...p.out.keys()]) disconnect(p, peers[id]!);
    if (!p.isSeed) for (let i = 0; i < cfg.pieces; i++) if (p.engine.have(i)) removeCopy(i);
    p.engine = null;
    p.leftAtMs = nowMs;
    const k = presentIndex.get(p.id)!;
    const last = present.pop()!;
    if (last !== p) {
      present[k] = last;
      presentIndex.set(last.id, k);
    }
    presentIndex.delete(p.id);
    presentChanged = true;
  }

  function addCopy(i: number): void {
    if (copies[i]!++ === 0) covered++;
  }
  function removeCopy(i: number): void {
    if (--copies[i]! === 0) covered--;
  }

  function activate(l: Link): void {
    if (l.active || l.closed) return;
    l.active = true;
    l.from.activeOut.push(l);
    l.to.activeIn++;
  }
  function deactivate(l: Link): void {
    if (!l.active) return;
    l.active = false;
    const arr = l.from.activeOut;
    const k = arr.indexOf(l);
    if (k >= 0 && roundRobin) arr.splice(k, 1); // the turn order is kept
    else if (k >= 0) {
      arr[k] = arr[arr.length - 1]!;
      arr.pop();
    }
    l.to.activeIn--;
  }

  /** Moves requests the sender's engine may serve into the link's send buffer. */
  function pull(l: Link): void {
    const engine = l.from.engine;
    if (engine === null || l.closed || l.from.upBps <= 0) return;
    while (l.queue.length < linkQueueBlocks) {
      const req = engine.takeUpload(l.keyAtFrom);
      if (req === null) break;
      if (l.queue.length === 0) l.headLeft = req.length + pieceOverheadBytes;
      l.queue.push(req);
    }
    if (l.queue.length > 0) activate(l);
  }

  function drain(p: SimPeer): void {
    const engine = p.engine;
    if (engine === null) return;
    const out = engine.out;
    for (let k = 0; k < out.length; k++) {
      const o = out[k]!;
      switch (o.kind) {
        case "send": {
          const l = p.out.get(Number(o.peer));
          if (l !== undefined) schedule(l.latencyMs, dMsg, l, o.message);
          break;
        }
        case "broadcast-have":
          schedule(p.latencyMs + meanLatency, dHave, p, o.index);
          break;
        case "block":
          break;
        case "verify":
          engine.pieceChecked(o.index, true);
          break;
        case "ban":
        case "close": {
          const q = peers[Number(o.peer)];
          if (q !== undefined) disconnect(p, q);
          break;
        }
        case "event":
          if (o.event.type === "piece-verified" && !p.isSeed) addCopy(o.event.index);
          else if (o.event.type === "completed" && !p.isSeed && p.completedAtMs === null) {
            p.completedAtMs = nowMs;
            completedCount++;
          }
          break;
      }
    }
    out.length = 0;
  }

  // Deliveries are handed out per receiver: each receiver's messages of the step in the
  // order they were sent, one receiver after another (its engine state stays in cache).
  const touched: SimPeer[] = [];
  const pieceMsg: MutablePiece = { type: "piece", index: 0, begin: 0, block: zeroBlock(0) };

  function deliverAll(bucket: readonly Slot[]): void {
    for (let k = 0; k < bucket.length; k += 3) {
      const kind = bucket[k] as number;
      if (kind === dHave) {
        const from = bucket[k + 1] as SimPeer;
        if (from.engine === null) continue;
        const index = bucket[k + 2] as number;
        const key = keyOf(from.id);
        const neighbours = from.neighbours;
        for (let n = 0; n < neighbours.length; n++) {
          const to = neighbours[n]!;
          if (to.engine === null) continue;
          if (to.inbox.length === 0) touched.push(to);
          to.inbox.push(dHave, key, index);
        }
      } else {
        const l = bucket[k + 1] as Link;
        const to = l.to;
        if (to.inbox.length === 0) touched.push(to);
        to.inbox.push(kind, l, bucket[k + 2]!);
      }
    }
    for (let t = 0; t < touched.length; t++) {
      const to = touched[t]!;
      const inbox = to.inbox;
      for (let k = 0; k < inbox.length; k += 3) {
        const kind = inbox[k] as number;
        if (kind === dHave) {
          const engine = to.engine;
          if (engine === null) continue;
          engine.handleHave(inbox[k + 1] as ConnectionId, inbox[k + 2] as number);
          if (engine.out.length > 0) drain(to);
        } else if (kind === dPiece) deliverPiece(inbox[k + 1] as Link, inbox[k + 2] as UploadRequest);
        else deliver(inbox[k + 1] as Link, inbox[k + 2] as WireMessage);
      }
      inbox.length = 0;
    }
    touched.length = 0;
  }

  /** A served block arrives: handed over as the one reused `piece` message. */
  function deliverPiece(l: Link, req: UploadRequest): void {
    pieceMsg.index = req.index;
    pieceMsg.begin = req.begin;
    pieceMsg.block = zeroBlock(req.length);
    deliver(l, pieceMsg as WireMessage);
  }

  function deliver(l: Link, msg: WireMessage): void {
    const to = l.to;
    const engine = to.engine;
    if (l.closed || engine === null) return;
    if (msg.type === "piece") blocksDelivered++;
    engine.handle(l.keyAtTo, msg);
    if (engine.out.length > 0) drain(to);
    // A request (or an unchoke that let requests through) may have queued uploads at `to`.
    if (msg.type === "request") {
      const back = to.out.get(l.from.id);
      if (back !== undefined) pull(back);
    }
  }

  /**
   * One step of the flow model: the rates of the active links, then the bytes they move.
   * "max-min" (the default): rates approach the max-min fair allocation of TCP-like flows
   * that share both the sender's uplink and the receiver's downlink, by alternating
   * water-filling (`flowRounds` times): each sender fills its upload over its links, each
   * capped at its receiver's water level; each receiver then fills its download over its
   * incoming links, each asking what its sender offered. A link that its sender holds
   * below the receiver's fair share leaves the rest of the downlink to the others.
   * "equal" (the model before): each link is capped at the receiver's download divided
   * equally among its active incoming links, whatever those links can carry.
   */
  function transfer(): void {
    const dtS = stepMs / 1000;
    const maxMin = cfg.downlinkSharing === "max-min";
    receivers.length = 0;
    senders.length = 0;
    // The receivers' incoming links in sender order (`present`, then each sender's
    // activeOut): waterLevel's sum depends on that order in its last bits.
    for (let s = 0; s < present.length; s++) {
      const p = present[s]!;
      const links = p.activeOut;
      if (links.length === 0) continue;
      senders.push(p);
      for (let k = 0; k < links.length; k++) {
        const l = links[k]!;
        const to = l.to;
        if (to.activeInLinks.length === 0) receivers.push(to);
        to.activeInLinks.push(l);
        l.cap = maxMin ? Infinity : to.downBps / Math.max(1, to.activeIn);
      }
    }
    for (let round = 0; round < (maxMin ? flowRounds : 1); round++) {
      for (let s = 0; s < senders.length; s++) {
        const p = senders[s]!;
        const links = p.activeOut;
        const n = links.length;
        let level: number;
        if (roundRobin) {
          // Block round-robin: the link whose turn it is takes what its receiver grants, the next the rest.
          let left = p.upBps;
          for (let k = 0; k < n; k++) {
            const l = links[k]!;
            l.rate = Math.min(l.cap, left);
            left -= l.rate;
          }
          continue;
        }
        if (maxMin && round === 0) {
          // Every cap is Infinity: waterLevel gives upload / n (Infinity for an unbounded upload).
          level = p.upBps === Infinity ? Infinity : p.upBps / n;
        } else {
          const values = scratchFor(n);
          for (let k = 0; k < n; k++) values[k] = links[k]!.cap;
          level = waterLevel(values, n, p.upBps);
        }
        for (let k = 0; k < n; k++) {
          const l = links[k]!;
          l.rate = Math.min(l.cap, level);
        }
      }
      if (!maxMin) break;
      for (let r = 0; r < receivers.length; r++) {
        const q = receivers[r]!;
        const links = q.activeInLinks;
        const n = links.length;
        const values = scratchFor(n);
        for (let k = 0; k < n; k++) values[k] = links[k]!.rate;
        const level = waterLevel(values, n, q.downBps);
        for (let k = 0; k < n; k++) {
          const l = links[k]!;
          l.cap = level;
          if (l.rate > level) l.rate = level;
        }
      }
    }
    for (let r = 0; r < receivers.length; r++) receivers[r]!.activeInLinks.length = 0;
    for (let s = 0; s < present.length; s++) {
      const p = present[s]!;
      const links = p.activeOut;
      if (links.length === 0) continue;
      if (roundRobin) {
        sendInTurn(p, links, dtS);
        if (p.engine !== null && p.engine.out.length > 0) drain(p);
        continue;
      }
      // Move bytes. Backwards: deactivate() swaps the last link into the hole.
      for (let k = links.length - 1; k >= 0; k--) {
        const l = links[k]!;
        let bytes = l.rate * dtS;
        while (bytes > 0 && l.queue.length > 0) {
          if (bytes < l.headLeft) {
            l.headLeft -= bytes;
            bytes = 0;
            break;
          }
          bytes -= l.headLeft;
          sendHead(p, l);
        }
        if (l.queue.length === 0) deactivate(l);
      }
      if (p.engine !== null && p.engine.out.length > 0) drain(p);
    }
  }

  /** The block at the head of `l` has left: count it, deliver it after the latency, refill the link. */
  function sendHead(p: SimPeer, l: Link): void {
    const req = l.queue.shift()!;
    const length = req.length;
    p.uploadedBytes += length;
    totalUploaded += length;
    p.engine?.uploaded(l.keyAtFrom, length);
    schedule(l.latencyMs, dPiece, l, req);
    if (l.queue.length > 0) l.headLeft = l.queue[0]!.length + pieceOverheadBytes;
    pull(l);
  }

  /**
   * Block round-robin: whole blocks, one link after another in turn; a link
   * gets at most its receiver's grant in the step (`cap`), the uplink's rest
   * goes to the next link.
   */
  function sendInTurn(p: SimPeer, links: Link[], dtS: number): void {
    for (let k = 0; k < links.length; k++) links[k]!.stepBytes = 0;
    let budget = p.upBps * dtS;
    let full = 0;
    while (budget > 0 && links.length > 0 && full < links.length) {
      const l = links[0]!;
      const room = l.cap * dtS - l.stepBytes;
      if (room <= 0 || l.queue.length === 0) {
        full++;
        links.push(links.shift()!);
        continue;
      }
      const bytes = Math.min(budget, room);
      if (bytes < l.headLeft) {
        l.headLeft -= bytes;
        l.stepBytes += bytes;
        budget -= bytes;
        continue; // the budget or the receiver's grant is spent: the loop ends or moves on
      }
      budget -= l.headLeft;
      l.stepBytes += l.headLeft;
      sendHead(p, l);
      full = 0;
      if (l.queue.length === 0) deactivate(l);
      else if (links.length > 1) links.push(links.shift()!); // its turn is over
    }
  }

  function sample(): void {
    let min = Infinity;
    let sum = 0;
    for (let i = 0; i < cfg.pieces; i++) {
      const c = copies[i]!;
      if (c < min) min = c;
      sum += c;
    }
    const base = { t: nowMs / 1000, minCopies: min, meanCopies: sum / cfg.pieces, completed: completedCount, present: present.length, uploadedBytes: totalUploaded, seedUploadedBytes: seedPeer.uploadedBytes };
    samples.push(nowMs <= cfg.idleCensusUntilS * 1000 ? { ...base, census: uploadCensus(censusPeers(), keyOf) } : base);
  }

  function* censusPeers(): Iterable<CensusPeer> {
    for (const p of present) {
      if (p.isSeed || p.engine === null) continue;
      let sending = false;
      for (const l of p.out.values()) if (l.queue.length > 0) sending = true;
      const neighbours: { id: number; engine: TorrentEngine }[] = [];
      for (const q of p.neighbours) if (!q.isSeed && q.engine !== null) neighbours.push({ id: q.id, engine: q.engine });
      yield { id: p.id, engine: p.engine, sending, neighbours };
    }
  }

  const receivers: SimPeer[] = [];
  const senders: SimPeer[] = [];
  let scratch = new Float64Array(cfg.maxConnections + 2);
  const scratchFor = (n: number): Float64Array => (n <= scratch.length ? scratch : (scratch = new Float64Array(2 * n)));

  // --- main loop -----------------------------------------------------------------------
  join(seedPeer);
  const ticksPerTick = Math.max(1, Math.round(cfg.tickMs / stepMs));
  const phases: SimPeer[][] = Array.from({ length: ticksPerTick }, () => []);
  const announceEverySteps = Math.max(ticksPerTick, Math.round((cfg.reannounceS * 1000) / stepMs));
  const sampleEverySteps = Math.max(1, Math.round((cfg.sampleEveryS * 1000) / stepMs));
  const progressEverySteps = Math.max(1, Math.round(((hooks.progressEveryS ?? 10) * 1000) / stepMs));
  const maxSteps = Math.ceil((cfg.maxSimS * 1000) / stepMs);
  const downloaders = cfg.peers;
  for (stepNo = 0; stepNo < maxSteps; stepNo++) {
    nowMs = stepNo * stepMs;
    // Arrivals.
    while (nextArrival < byArrival.length && byArrival[nextArrival]!.arriveAtMs <= nowMs) {
      const p = byArrival[nextArrival++]!;
      join(p);
      connectSome(p, cfg.connectTo);
    }
    // Deliveries due now.
    const bucket = wheel[stepNo % wheelSize]!;
    if (bucket.length > 0) {
      wheel[stepNo % wheelSize] = spareBucket;
      deliverAll(bucket);
      bucket.length = 0;
      spareBucket = bucket;
    }
    // Engine ticks, staggered across peers: the present peers of each phase, listed in `present` order.
    if (presentChanged) {
      presentChanged = false;
      for (const list of phases) list.length = 0;
      for (const p of present) phases[p.id % ticksPerTick]!.push(p);
    }
    const phase = stepNo % ticksPerTick;
    for (const p of phases[phase]!) {
      if (p.engine === null) continue;
      p.engine.tick();
      drain(p);
      for (const l of p.out.values()) if (!l.active) pull(l);
      // Re-announce: a peer that lost most of its neighbours finds more at once; one
      // that none of its neighbours can help asks the tracker again every announce interval.
      if (p.engine !== null && !p.engine.complete) {
        if (p.out.size < cfg.connectTo / 2) connectSome(p, cfg.connectTo - p.out.size);
        else if ((stepNo + p.id) % announceEverySteps < ticksPerTick && p.engine.interestingPeerCount === 0) connectSome(p, cfg.connectTo);
      }
    }
    transfer();
    // Departures.
    if (cfg.departure === "leave") {
      for (let k = present.length - 1; k >= 0; k--) {
        const p = present[k];
        if (p !== undefined && !p.isSeed && p.completedAtMs !== null) leave(p);
      }
    }
    if (cfg.seedLeavesAfterFullCopy && seedLeftAtMs === null && covered === cfg.pieces) {
      seedLeftAtMs = nowMs;
      leave(seedPeer);
    }
    if (stepNo % sampleEverySteps === 0) sample();
    if (hooks.onProgress !== undefined && stepNo % progressEverySteps === 0) {
      hooks.onProgress({ virtualS: nowMs / 1000, blocksDelivered, completed: completedCount, present: present.length });
    }
    if (completedCount === downloaders) break;
  }
  sample();

  const outcomes: PeerOutcome[] = peers.slice(1).map((p) => ({
    arrivedS: p.arriveAtMs / 1000,
    completedS: p.completedAtMs === null ? null : p.completedAtMs / 1000,
    uploadBytesPerS: p.upBps,
    freeRider: p.freeRider,
  }));
  const firstArrivalMs = byArrival[0]?.arriveAtMs ?? 0;
  let lastMs = 0;
  const durations: number[] = [];
  const contributors: number[] = [];
  const riders: number[] = [];
  for (const p of peers.slice(1)) {
    if (p.completedAtMs === null) continue;
    lastMs = Math.max(lastMs, p.completedAtMs);
    const d = (p.completedAtMs - p.arriveAtMs) / 1000;
    durations.push(d);
    (p.freeRider ? riders : contributors).push(d);
  }
  const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);
  const distributionTimeS = (lastMs - firstArrivalMs) / 1000;
  return {
    config: cfg,
    peers: cfg.peers,
    fileBytes,
    distributionTimeS,
    fluidBoundS,
    ratio: distributionTimeS / fluidBoundS,
    meanCompletionS: mean(durations),
    meanCompletionContributorsS: mean(contributors),
    meanCompletionFreeRidersS: riders.length === 0 ? null : mean(riders),
    seedUploadedCopies: seedPeer.uploadedBytes / fileBytes,
    seedLeftAtS: seedLeftAtMs === null ? null : seedLeftAtMs / 1000,
    completed: completedCount,
    allCompleted: completedCount === downloaders,
    samples,
    outcomes,
    blocksDelivered,
    virtualS: nowMs / 1000,
  };
}

export { blockBytes };
