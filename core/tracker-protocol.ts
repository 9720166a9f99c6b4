// The WebTorrent WebSocket tracker protocol (webtorrent/bittorrent-tracker,
// the de facto standard; see shared/design/protocols.md "WebSocket tracker
// protocol"). Pure types, validating parsers and encoders for both directions,
// shared by the tracker (tracker/) and the browser's tracker client (web/).
//
// Wire facts implemented here:
// - every id (`info_hash`, `peer_id`, `to_peer_id`, `offer_id`) is a 20-char
//   "binary string", one char per byte, code points 0-255;
// - all messages are JSON objects with `action: "announce" | "scrape"`; an
//   announce carrying `answer` is the answer relay, not a membership change;
// - errors are `{"failure reason": ...}` plus `action` and `info_hash` when known.
//
// Parsers never throw: raw text in, a typed message or a TrackerProtocolError out.
import { bytesFromBinaryId, idToBinaryString, infoHashFromBytes, peerIdFromBytes } from "./ids.ts";
import type { InfoHash, PeerId } from "./ids.ts";

declare const wireBrand: unique symbol;
type WireId<B extends string> = string & { readonly [wireBrand]: B };

/** An infohash in the tracker's 20-char binary-string form. */
export type WireInfoHash = WireId<"InfoHash">;
/** A peer id in the tracker's 20-char binary-string form. */
export type WirePeerId = WireId<"PeerId">;
/** An offer id (20 random bytes chosen by the offerer) in binary-string form. */
export type WireOfferId = WireId<"OfferId">;

/** Bounds applied while parsing; defaults follow aquatic_ws. */
export interface TrackerParseLimits {
  /** Longest message accepted, in UTF-16 code units of the received text (aquatic_ws: 64 KiB). */
  maxMessageChars: number;
  /** Most offers accepted in one announce; extra offers are dropped and reported (aquatic_ws: 10). */
  maxOffersPerAnnounce: number;
  /** Longest SDP accepted in an offer or answer. */
  maxSdpChars: number;
  /** Most infohashes in one scrape. */
  maxScrapeInfoHashes: number;
}

export const defaultTrackerParseLimits: TrackerParseLimits = {
  maxMessageChars: 64 * 1024,
  maxOffersPerAnnounce: 10,
  maxSdpChars: 16 * 1024,
  maxScrapeInfoHashes: 256,
};

// ---------------------------------------------------------------- messages

export type AnnounceEvent = "started" | "completed" | "stopped" | "update";

export interface SessionDescription<T extends "offer" | "answer"> {
  type: T;
  sdp: string;
}

export interface WireOffer {
  offerId: WireOfferId;
  offer: SessionDescription<"offer">;
}

/** client -> tracker: `{action:"announce", info_hash, peer_id, numwant, uploaded, downloaded, left, event?, offers}` */
export interface AnnounceRequest {
  kind: "announce";
  infoHash: WireInfoHash;
  peerId: WirePeerId;
  /** Bytes still wanted; null when the client does not know (metadata missing). 0 means seeder. */
  left: number | null;
  uploaded: number | null;
  downloaded: number | null;
  numwant: number | null;
  /** Absent on the wire means a regular update. */
  event: AnnounceEvent;
  offers: WireOffer[];
  /** How many offers beyond maxOffersPerAnnounce were dropped while parsing. */
  droppedOffers: number;
}

/** client -> tracker: `{action:"announce", info_hash, peer_id, to_peer_id, answer, offer_id}` */
export interface AnswerRequest {
  kind: "answer";
  infoHash: WireInfoHash;
  peerId: WirePeerId;
  toPeerId: WirePeerId;
  offerId: WireOfferId;
  answer: SessionDescription<"answer">;
}

/** client -> tracker: `{action:"scrape", info_hash: bin | [bin, ...]}` */
export interface ScrapeRequest {
  kind: "scrape";
  infoHashes: WireInfoHash[];
}

export type ClientMessage = AnnounceRequest | AnswerRequest | ScrapeRequest;

/** tracker -> announcer: `{action:"announce", interval, info_hash, complete, incomplete}` */
export interface AnnounceResponse {
  kind: "announce-response";
  infoHash: WireInfoHash;
  /** Seconds until the next regular announce. */
  intervalS: number;
  complete: number;
  incomplete: number;
  warning?: string;
}

/** tracker -> chosen peer: `{action:"announce", offer, offer_id, peer_id:<offerer>, info_hash}` */
export interface RelayedOffer {
  kind: "offer";
  infoHash: WireInfoHash;
  /** The offerer. */
  peerId: WirePeerId;
  offerId: WireOfferId;
  offer: SessionDescription<"offer">;
}

/** tracker -> offerer: `{action:"announce", answer, offer_id, peer_id:<answerer>, info_hash}` */
export interface RelayedAnswer {
  kind: "answer";
  infoHash: WireInfoHash;
  /** The answerer. */
  peerId: WirePeerId;
  offerId: WireOfferId;
  answer: SessionDescription<"answer">;
}

export interface ScrapeCounts {
  complete: number;
  incomplete: number;
  downloaded: number;
}

/** tracker -> client: `{action:"scrape", files:{<bin>:{complete, incomplete, downloaded}}}` */
export interface ScrapeResponse {
  kind: "scrape-response";
  files: Map<WireInfoHash, ScrapeCounts>;
}

/** tracker -> client: `{"failure reason": ..., action?, info_hash?}` */
export interface FailureResponse {
  kind: "failure";
  reason: string;
  action?: "announce" | "scrape";
  infoHash?: WireInfoHash;
}

export type TrackerMessage = AnnounceResponse | RelayedOffer | RelayedAnswer | ScrapeResponse | FailureResponse;

// ------------------------------------------------------------------ errors

export type TrackerProtocolErrorCode =
  | "too-large"
  | "invalid-json"
  | "not-an-object"
  | "unknown-action"
  | "invalid-field"
  | "too-many";

/** A message that is not valid tracker protocol; `action` and `infoHash` are set when they were readable. */
export class TrackerProtocolError extends Error {
  override name = "TrackerProtocolError";
  readonly action: "announce" | "scrape" | undefined;
  readonly infoHash: WireInfoHash | undefined;
  constructor(
    readonly code: TrackerProtocolErrorCode,
    message: string,
    context: { action?: "announce" | "scrape" | undefined; infoHash?: WireInfoHash | undefined } = {},
  ) {
    super(message);
    this.action = context.action;
    this.infoHash = context.infoHash;
  }
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: TrackerProtocolError };

// ------------------------------------------------------------- id helpers

/** True when `value` is a 20-char string of code points 0-255 (a tracker id). */
export function isWireId(value: unknown): value is string {
  return typeof value === "string" && bytesFromBinaryId(value) !== null;
}

export function wireInfoHash(value: string): WireInfoHash | null {
  return bytesFromBinaryId(value) === null ? null : (value as WireInfoHash);
}
export function wirePeerId(value: string): WirePeerId | null {
  return bytesFromBinaryId(value) === null ? null : (value as WirePeerId);
}
export function wireOfferId(value: string): WireOfferId | null {
  return bytesFromBinaryId(value) === null ? null : (value as WireOfferId);
}
export function wireOfferIdFromBytes(bytes: Uint8Array): WireOfferId {
  if (bytes.length !== 20) throw new TrackerProtocolError("invalid-field", `an offer id is 20 bytes, got ${bytes.length}`);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s as WireOfferId;
}

export function infoHashToWire(id: InfoHash): WireInfoHash {
  return idToBinaryString(id) as WireInfoHash;
}
export function peerIdToWire(id: PeerId): WirePeerId {
  return idToBinaryString(id) as WirePeerId;
}
export function infoHashFromWire(id: WireInfoHash): InfoHash {
  return infoHashFromBytes(bytesFromBinaryId(id)!);
}
export function peerIdFromWire(id: WirePeerId): PeerId {
  return peerIdFromBytes(bytesFromBinaryId(id)!);
}

// ---------------------------------------------------------------- parsing

type JsonObject = Record<string, unknown>;

function parseObject(text: string, maxChars: number): ParseResult<JsonObject> {
  if (text.length > maxChars) {
    return fail("too-large", `message of ${text.length} characters exceeds the ${maxChars}-character limit`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("invalid-json", "message is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("not-an-object", "message must be a JSON object");
  }
  return { ok: true, value: value as JsonObject };
}

function fail(
  code: TrackerProtocolErrorCode,
  message: string,
  action?: "announce" | "scrape",
  infoHash?: WireInfoHash,
): { ok: false; error: TrackerProtocolError } {
  return { ok: false, error: new TrackerProtocolError(code, message, { action, infoHash }) };
}

/** Optional non-negative number; JSON `null` (e.g. `left: Infinity` stringified) means unknown. */
function optionalCount(obj: JsonObject, key: string): number | null | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) return undefined;
  return v;
}

function parseDescription<T extends "offer" | "answer">(value: unknown, type: T, maxSdpChars: number): SessionDescription<T> | string {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return `\`${type}\` must be an object`;
  const d = value as JsonObject;
  if (d.type !== type) return `\`${type}.type\` must be "${type}"`;
  if (typeof d.sdp !== "string") return `\`${type}.sdp\` must be a string`;
  if (d.sdp.length > maxSdpChars) return `\`${type}.sdp\` exceeds ${maxSdpChars} characters`;
  // Only type and sdp are relayed: nothing else a client sends reaches another peer.
  return { type, sdp: d.sdp };
}

const EVENTS: Record<string, AnnounceEvent> = {
  started: "started",
  completed: "completed",
  stopped: "stopped",
  update: "update",
  // Sent by some clients; BEP 3 calls the absent event "empty" and libtorrent adds "paused".
  empty: "update",
  paused: "update",
};

/** Parses one client -> tracker message. Never throws. */
export function parseClientMessage(text: string, limits: TrackerParseLimits = defaultTrackerParseLimits): ParseResult<ClientMessage> {
  const parsed = parseObject(text, limits.maxMessageChars);
  if (!parsed.ok) return parsed;
  const obj = parsed.value;
  const action = obj.action;
  if (action === "scrape") return parseScrape(obj, limits);
  if (action !== "announce") {
    const shown = typeof action === "string" ? JSON.stringify(action.slice(0, 32)) : typeof action;
    return fail("unknown-action", `unknown action ${shown}: expected "announce" or "scrape"`);
  }

  if (!isWireId(obj.info_hash)) return fail("invalid-field", "info_hash must be a 20-byte binary string", "announce");
  const infoHash = obj.info_hash as WireInfoHash;
  if (!isWireId(obj.peer_id)) return fail("invalid-field", "peer_id must be a 20-byte binary string", "announce", infoHash);
  const peerId = obj.peer_id as WirePeerId;

  if (obj.answer !== undefined) {
    if (!isWireId(obj.to_peer_id)) return fail("invalid-field", "to_peer_id must be a 20-byte binary string (required with answer)", "announce", infoHash);
    if (!isWireId(obj.offer_id)) return fail("invalid-field", "offer_id must be a 20-byte binary string (required with answer)", "announce", infoHash);
    const answer = parseDescription(obj.answer, "answer", limits.maxSdpChars);
    if (typeof answer === "string") return fail("invalid-field", answer, "announce", infoHash);
    return {
      ok: true,
      value: { kind: "answer", infoHash, peerId, toPeerId: obj.to_peer_id as WirePeerId, offerId: obj.offer_id as WireOfferId, answer },
    };
  }

  let event: AnnounceEvent = "update";
  if (obj.event !== undefined && obj.event !== null) {
    const e = typeof obj.event === "string" ? EVENTS[obj.event] : undefined;
    if (e === undefined) return fail("invalid-field", 'event must be "started", "completed", "stopped" or absent', "announce", infoHash);
    event = e;
  }
  const left = optionalCount(obj, "left");
  const uploaded = optionalCount(obj, "uploaded");
  const downloaded = optionalCount(obj, "downloaded");
  const numwant = optionalCount(obj, "numwant");
  if (left === undefined) return fail("invalid-field", "left must be a non-negative number", "announce", infoHash);
  if (uploaded === undefined) return fail("invalid-field", "uploaded must be a non-negative number", "announce", infoHash);
  if (downloaded === undefined) return fail("invalid-field", "downloaded must be a non-negative number", "announce", infoHash);
  if (numwant === undefined) return fail("invalid-field", "numwant must be a non-negative number", "announce", infoHash);

  const offers: WireOffer[] = [];
  let droppedOffers = 0;
  if (obj.offers !== undefined && obj.offers !== null) {
    if (!Array.isArray(obj.offers)) return fail("invalid-field", "offers must be an array", "announce", infoHash);
    const list = obj.offers as unknown[];
    const kept = Math.min(list.length, limits.maxOffersPerAnnounce);
    droppedOffers = list.length - kept;
    for (let i = 0; i < kept; i++) {
      const o = list[i];
      if (typeof o !== "object" || o === null || Array.isArray(o)) return fail("invalid-field", `offers[${i}] must be an object`, "announce", infoHash);
      const entry = o as JsonObject;
      if (!isWireId(entry.offer_id)) return fail("invalid-field", `offers[${i}].offer_id must be a 20-byte binary string`, "announce", infoHash);
      const offer = parseDescription(entry.offer, "offer", limits.maxSdpChars);
      if (typeof offer === "string") return fail("invalid-field", `offers[${i}]: ${offer}`, "announce", infoHash);
      offers.push({ offerId: entry.offer_id as WireOfferId, offer });
    }
  }
  return { ok: true, value: { kind: "announce", infoHash, peerId, left, uploaded, downloaded, numwant, event, offers, droppedOffers } };
}

function parseScrape(obj: JsonObject, limits: TrackerParseLimits): ParseResult<ScrapeRequest> {
  const raw = obj.info_hash;
  const list: unknown[] = typeof raw === "string" ? [raw] : Array.isArray(raw) ? (raw as unknown[]) : [];
  if (typeof raw !== "string" && !Array.isArray(raw)) return fail("invalid-field", "info_hash must be a binary string or an array of them", "scrape");
  if (list.length === 0) return fail("invalid-field", "info_hash must name at least one infohash", "scrape");
  if (list.length > limits.maxScrapeInfoHashes) return fail("too-many", `at most ${limits.maxScrapeInfoHashes} infohashes per scrape`, "scrape");
  for (const h of list) if (!isWireId(h)) return fail("invalid-field", "every info_hash must be a 20-byte binary string", "scrape");
  return { ok: true, value: { kind: "scrape", infoHashes: list as WireInfoHash[] } };
}

/** Parses one tracker -> client message. Never throws. */
export function parseTrackerMessage(text: string, maxMessageChars: number = 1024 * 1024): ParseResult<TrackerMessage> {
  const parsed = parseObject(text, maxMessageChars);
  if (!parsed.ok) return parsed;
  const obj = parsed.value;
  const action = obj.action === "announce" || obj.action === "scrape" ? obj.action : undefined;
  const infoHash = isWireId(obj.info_hash) ? (obj.info_hash as WireInfoHash) : undefined;

  const failure = obj["failure reason"];
  if (failure !== undefined) {
    if (typeof failure !== "string") return fail("invalid-field", "failure reason must be a string", action, infoHash);
    const out: FailureResponse = { kind: "failure", reason: failure };
    if (action !== undefined) out.action = action;
    if (infoHash !== undefined) out.infoHash = infoHash;
    return { ok: true, value: out };
  }

  if (action === "scrape") {
    const files = obj.files;
    if (typeof files !== "object" || files === null || Array.isArray(files)) return fail("invalid-field", "scrape files must be an object", "scrape");
    const out = new Map<WireInfoHash, ScrapeCounts>();
    for (const [key, v] of Object.entries(files as JsonObject)) {
      if (!isWireId(key)) return fail("invalid-field", "scrape files keys must be 20-byte binary strings", "scrape");
      if (typeof v !== "object" || v === null) return fail("invalid-field", "scrape file entry must be an object", "scrape");
      const entry = v as JsonObject;
      const complete = optionalCount(entry, "complete");
      const incomplete = optionalCount(entry, "incomplete");
      const downloaded = optionalCount(entry, "downloaded");
      if (complete == null || incomplete == null) return fail("invalid-field", "scrape counts must be non-negative numbers", "scrape");
      out.set(key as WireInfoHash, { complete, incomplete, downloaded: downloaded ?? 0 });
    }
    return { ok: true, value: { kind: "scrape-response", files: out } };
  }
  if (action !== "announce") return fail("unknown-action", "tracker message has no known action");
  if (infoHash === undefined) return fail("invalid-field", "info_hash must be a 20-byte binary string", "announce");

  if (obj.offer !== undefined || obj.answer !== undefined) {
    if (!isWireId(obj.peer_id)) return fail("invalid-field", "peer_id must be a 20-byte binary string", "announce", infoHash);
    if (!isWireId(obj.offer_id)) return fail("invalid-field", "offer_id must be a 20-byte binary string", "announce", infoHash);
    const peerId = obj.peer_id as WirePeerId;
    const offerId = obj.offer_id as WireOfferId;
    if (obj.offer !== undefined) {
      const offer = parseDescription(obj.offer, "offer", Number.MAX_SAFE_INTEGER);
      if (typeof offer === "string") return fail("invalid-field", offer, "announce", infoHash);
      return { ok: true, value: { kind: "offer", infoHash, peerId, offerId, offer } };
    }
    const answer = parseDescription(obj.answer, "answer", Number.MAX_SAFE_INTEGER);
    if (typeof answer === "string") return fail("invalid-field", answer, "announce", infoHash);
    return { ok: true, value: { kind: "answer", infoHash, peerId, offerId, answer } };
  }

  const interval = obj.interval;
  const complete = optionalCount(obj, "complete");
  const incomplete = optionalCount(obj, "incomplete");
  if (typeof interval !== "number" || !Number.isFinite(interval) || interval <= 0) return fail("invalid-field", "interval must be a positive number", "announce", infoHash);
  if (complete == null || incomplete == null) return fail("invalid-field", "complete and incomplete must be non-negative numbers", "announce", infoHash);
  const out: AnnounceResponse = { kind: "announce-response", infoHash, intervalS: interval, complete, incomplete };
  const warning = obj["warning message"];
  if (typeof warning === "string") out.warning = warning;
  return { ok: true, value: out };
}

// --------------------------------------------------------------- encoding

/** Encodes one client -> tracker message in the exact shape the reference client sends. */
export function encodeClientMessage(message: ClientMessage): string {
  switch (message.kind) {
    case "announce": {
      const wire: JsonObject = {
        action: "announce",
        info_hash: message.infoHash,
        peer_id: message.peerId,
        numwant: message.numwant ?? message.offers.length,
        uploaded: message.uploaded ?? 0,
        downloaded: message.downloaded ?? 0,
        left: message.left,
      };
      if (message.event !== "update") wire.event = message.event;
      if (message.event !== "stopped" && message.event !== "completed") {
        wire.offers = message.offers.map((o) => ({ offer: o.offer, offer_id: o.offerId }));
      }
      return JSON.stringify(wire);
    }
    case "answer":
      return JSON.stringify({
        action: "announce",
        info_hash: message.infoHash,
        peer_id: message.peerId,
        to_peer_id: message.toPeerId,
        answer: message.answer,
        offer_id: message.offerId,
      });
    case "scrape":
      return JSON.stringify({ action: "scrape", info_hash: message.infoHashes.length === 1 ? message.infoHashes[0] : message.infoHashes });
    default:
      return assertNever(message);
  }
}

/** Encodes one tracker -> client message. */
export function encodeTrackerMessage(message: TrackerMessage): string {
  switch (message.kind) {
    case "announce-response": {
      const wire: JsonObject = {
        action: "announce",
        interval: message.intervalS,
        info_hash: message.infoHash,
        complete: message.complete,
        incomplete: message.incomplete,
      };
      if (message.warning !== undefined) wire["warning message"] = message.warning;
      return JSON.stringify(wire);
    }
    // Offers and answers are most of a tracker's output: built from escaped parts
    // (same bytes as JSON.stringify of the object, without the object walk).
    case "offer":
      return `{"action":"announce","offer":{"type":"offer","sdp":${JSON.stringify(message.offer.sdp)}},"offer_id":${JSON.stringify(message.offerId)},"peer_id":${JSON.stringify(message.peerId)},"info_hash":${JSON.stringify(message.infoHash)}}`;
    case "answer":
      return `{"action":"announce","answer":{"type":"answer","sdp":${JSON.stringify(message.answer.sdp)}},"offer_id":${JSON.stringify(message.offerId)},"peer_id":${JSON.stringify(message.peerId)},"info_hash":${JSON.stringify(message.infoHash)}}`;
    case "scrape-response": {
      const files: Record<string, ScrapeCounts> = {};
      for (const [k, v] of message.files) files[k] = { complete: v.complete, incomplete: v.incomplete, downloaded: v.downloaded };
      return JSON.stringify({ action: "scrape", files });
    }
    case "failure": {
      const wire: JsonObject = { "failure reason": message.reason };
      if (message.action !== undefined) wire.action = message.action;
      if (message.infoHash !== undefined) wire.info_hash = message.infoHash;
      return JSON.stringify(wire);
    }
    default:
      return assertNever(message);
  }
}

function assertNever(value: never): never {
  throw new TrackerProtocolError("invalid-field", `unhandled message kind ${JSON.stringify(value)}`);
}
