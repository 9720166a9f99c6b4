import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  encodeClientMessage,
  encodeTrackerMessage,
  infoHashFromWire,
  infoHashToWire,
  parseClientMessage,
  parseTrackerMessage,
  TrackerProtocolError,
  type ClientMessage,
  type TrackerMessage,
  type WireInfoHash,
  type WireOffer,
  type WireOfferId,
  type WirePeerId,
} from "./tracker-protocol.ts";
import { infoHashFromHex } from "./ids.ts";

const byteChar = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
const wireId = fc.string({ unit: byteChar, minLength: 20, maxLength: 20 });
const ih = wireId.map((s) => s as WireInfoHash);
const pid = wireId.map((s) => s as WirePeerId);
const oid = wireId.map((s) => s as WireOfferId);
const sdp = fc.string({ maxLength: 200 });
const count = fc.oneof(fc.constant(null), fc.nat(), fc.double({ min: 0, max: 1e12, noNaN: true }));

const clientMessage: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.record({
    kind: fc.constant("announce" as const),
    infoHash: ih,
    peerId: pid,
    left: count,
    uploaded: fc.nat(),
    downloaded: fc.nat(),
    numwant: fc.nat({ max: 50 }),
    event: fc.constantFrom("started" as const, "update" as const),
    offers: fc.array(fc.record({ offerId: oid, offer: fc.record({ type: fc.constant("offer" as const), sdp }) }), { maxLength: 10 }),
    droppedOffers: fc.constant(0),
  }),
  fc.record({
    kind: fc.constant("announce" as const),
    infoHash: ih,
    peerId: pid,
    left: count,
    uploaded: fc.nat(),
    downloaded: fc.nat(),
    numwant: fc.nat({ max: 50 }),
    event: fc.constantFrom("stopped" as const, "completed" as const),
    offers: fc.constant([] as WireOffer[]),
    droppedOffers: fc.constant(0),
  }),
  fc.record({ kind: fc.constant("answer" as const), infoHash: ih, peerId: pid, toPeerId: pid, offerId: oid, answer: fc.record({ type: fc.constant("answer" as const), sdp }) }),
  fc.record({ kind: fc.constant("scrape" as const), infoHashes: fc.array(ih, { minLength: 1, maxLength: 5 }) }),
);

const counts = fc.record({ complete: fc.nat(), incomplete: fc.nat(), downloaded: fc.nat() });
const trackerMessage: fc.Arbitrary<TrackerMessage> = fc.oneof(
  fc.record({ kind: fc.constant("announce-response" as const), infoHash: ih, intervalS: fc.integer({ min: 1, max: 3600 }), complete: fc.nat(), incomplete: fc.nat() }),
  fc.record({ kind: fc.constant("announce-response" as const), infoHash: ih, intervalS: fc.integer({ min: 1, max: 3600 }), complete: fc.nat(), incomplete: fc.nat(), warning: fc.string() }),
  fc.record({ kind: fc.constant("offer" as const), infoHash: ih, peerId: pid, offerId: oid, offer: fc.record({ type: fc.constant("offer" as const), sdp }) }),
  fc.record({ kind: fc.constant("answer" as const), infoHash: ih, peerId: pid, offerId: oid, answer: fc.record({ type: fc.constant("answer" as const), sdp }) }),
  fc.array(fc.tuple(ih, counts), { maxLength: 4 }).map((entries) => ({ kind: "scrape-response" as const, files: new Map(entries) })),
  fc.record({ kind: fc.constant("failure" as const), reason: fc.string() }),
  fc.record({ kind: fc.constant("failure" as const), reason: fc.string(), action: fc.constantFrom("announce" as const, "scrape" as const), infoHash: ih }),
);

const id20 = (c: string): string => c.repeat(20);

describe("tracker protocol", () => {
  it("every client message survives encode-then-parse", () => {
    fc.assert(
      fc.property(clientMessage, (m) => {
        const parsed = parseClientMessage(encodeClientMessage(m));
        expect(parsed).toEqual({ ok: true, value: m });
      }),
      { numRuns: 400 },
    );
  });

  it("every tracker message survives encode-then-parse", () => {
    fc.assert(
      fc.property(trackerMessage, (m) => {
        const parsed = parseTrackerMessage(encodeTrackerMessage(m));
        expect(parsed).toEqual({ ok: true, value: m });
      }),
      { numRuns: 400 },
    );
  });

  it("encodes relayed offers and answers byte for byte as JSON.stringify of the reference tracker's objects", () => {
    fc.assert(
      fc.property(ih, pid, oid, sdp, (infoHash, peerId, offerId, text) => {
        expect(encodeTrackerMessage({ kind: "offer", infoHash, peerId, offerId, offer: { type: "offer", sdp: text } })).toBe(
          JSON.stringify({ action: "announce", offer: { type: "offer", sdp: text }, offer_id: offerId, peer_id: peerId, info_hash: infoHash }),
        );
        expect(encodeTrackerMessage({ kind: "answer", infoHash, peerId, offerId, answer: { type: "answer", sdp: text } })).toBe(
          JSON.stringify({ action: "announce", answer: { type: "answer", sdp: text }, offer_id: offerId, peer_id: peerId, info_hash: infoHash }),
        );
      }),
      { numRuns: 300 },
    );
  });

  it("parses the reference client's announce exactly as it sends it", () => {
    const text = JSON.stringify({
      numwant: 5,
      uploaded: 0,
      downloaded: 0,
      left: null,
      event: "started",
      action: "announce",
      info_hash: id20("\u00ff"),
      peer_id: "-WW0208-" + "\u0001".repeat(12),
      offers: [{ offer: { type: "offer", sdp: "v=0\r\n" }, offer_id: id20("\u0080") }],
    });
    const r = parseClientMessage(text);
    expect(r.ok).toBe(true);
    if (!r.ok || r.value.kind !== "announce") throw new Error("expected an announce");
    expect(r.value.event).toBe("started");
    expect(r.value.left).toBeNull();
    expect(r.value.offers).toHaveLength(1);
    expect(r.value.offers[0]!.offer.sdp).toBe("v=0\r\n");
  });

  it("turns an announce carrying an answer into an answer relay", () => {
    const r = parseClientMessage(
      JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), to_peer_id: id20("c"), offer_id: id20("d"), answer: { type: "answer", sdp: "x" } }),
    );
    expect(r).toEqual({ ok: true, value: { kind: "answer", infoHash: id20("a"), peerId: id20("b"), toPeerId: id20("c"), offerId: id20("d"), answer: { type: "answer", sdp: "x" } } });
  });

  it("keeps at most maxOffersPerAnnounce offers and counts the rest", () => {
    const offers = Array.from({ length: 13 }, (_, i) => ({ offer: { type: "offer", sdp: `s${i}` }, offer_id: id20(String.fromCharCode(65 + i)) }));
    const r = parseClientMessage(JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), offers }));
    if (!r.ok || r.value.kind !== "announce") throw new Error("expected an announce");
    expect(r.value.offers).toHaveLength(10);
    expect(r.value.droppedOffers).toBe(3);
  });

  it("accepts a scrape of one infohash or many", () => {
    expect(parseClientMessage(JSON.stringify({ action: "scrape", info_hash: id20("a") }))).toEqual({ ok: true, value: { kind: "scrape", infoHashes: [id20("a")] } });
    expect(parseClientMessage(JSON.stringify({ action: "scrape", info_hash: [id20("a"), id20("b")] }))).toEqual({
      ok: true,
      value: { kind: "scrape", infoHashes: [id20("a"), id20("b")] },
    });
  });

  const bad: [string, string, string][] = [
    ["{", "invalid-json", "not valid JSON"],
    ["[1,2]", "not-an-object", "JSON object"],
    ["null", "not-an-object", "JSON object"],
    [JSON.stringify({ action: "connect" }), "unknown-action", "unknown action"],
    [JSON.stringify({ action: "announce", info_hash: "short", peer_id: id20("b") }), "invalid-field", "info_hash"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("\u0100") }), "invalid-field", "peer_id"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), left: "10" }), "invalid-field", "left"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), left: -1 }), "invalid-field", "left"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), event: "exploded" }), "invalid-field", "event"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), offers: {} }), "invalid-field", "offers"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), offers: [{ offer_id: id20("c"), offer: { type: "answer", sdp: "" } }] }), "invalid-field", "offer.type"],
    [JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: id20("b"), answer: { type: "answer", sdp: "" }, offer_id: id20("c") }), "invalid-field", "to_peer_id"],
    [JSON.stringify({ action: "scrape", info_hash: 5 }), "invalid-field", "info_hash"],
    [JSON.stringify({ action: "scrape", info_hash: [] }), "invalid-field", "at least one"],
    [JSON.stringify({ action: "scrape", info_hash: Array.from({ length: 300 }, () => id20("a")) }), "too-many", "at most"],
    ["x".repeat(70_000), "too-large", "exceeds"],
  ];
  it.each(bad)("rejects %s with a typed error", (text, code, words) => {
    const r = parseClientMessage(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(TrackerProtocolError);
    expect(r.error.code).toBe(code);
    expect(r.error.message).toContain(words);
  });

  it("reports action and info_hash when they were readable", () => {
    const r = parseClientMessage(JSON.stringify({ action: "announce", info_hash: id20("a"), peer_id: 7 }));
    if (r.ok) throw new Error("expected an error");
    expect(r.error.action).toBe("announce");
    expect(r.error.infoHash).toBe(id20("a"));
  });

  it("never throws on arbitrary text or arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const r = parseClientMessage(text);
        expect(typeof r.ok).toBe("boolean");
        const t = parseTrackerMessage(text);
        expect(typeof t.ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
  });

  it("converts between hex infohashes and the wire form", () => {
    const hex = infoHashFromHex("0123456789abcdef0123456789abcdef01234567");
    const wire = infoHashToWire(hex);
    expect(wire).toHaveLength(20);
    expect(infoHashFromWire(wire)).toBe(hex);
  });
});
