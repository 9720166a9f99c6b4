import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dict, encode } from "../bencode.ts";
import { concatBytes, fromHex, sha1, toHex } from "../bytes.ts";
import { infoHashFromBytes, peerIdFromHex, type InfoHash } from "../ids.ts";
import { seededRandom } from "../random.ts";
import { Bitfield } from "./bitfield.ts";
import { encodeHandshake, encodeMessage, FrameDecoder, makeHandshake } from "./codec.ts";
import { ProtocolViolation, WireUsageError, type ViolationKind } from "./errors.ts";
import type { WireMessage } from "./messages.ts";
import { answerMetadataRequest, MetadataFetcher, metadataPieceCount, type MetadataVerifyResult } from "./metadata.ts";
import { PeerConnection, type PeerEvent, type TorrentShape } from "./peer-connection.ts";
import { ManualClock, pump } from "./test-pipe.ts";

const PEER_A = peerIdFromHex("2d5344303130302d616161616161616161616161");
const PEER_B = peerIdFromHex("2d5344303130302d626262626262626262626262");

interface Fixture {
  readonly data: Uint8Array;
  readonly shape: TorrentShape;
  readonly infoBytes: Uint8Array;
  readonly infoHash: InfoHash;
}

/** A single-file torrent whose info dict spans several 16 KiB metadata pieces (padded with an extra key). */
async function fixture(seed: number): Promise<Fixture> {
  const random = seededRandom(seed);
  const pieceLength = 32 * 1024;
  const totalLength = 4 * pieceLength + 1000 + random.int(5000);
  const data = random.bytes(totalLength);
  const pieceCount = Math.ceil(totalLength / pieceLength);
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < pieceCount; i++) hashes.push(await sha1(data.subarray(i * pieceLength, (i + 1) * pieceLength)));
  const infoBytes = encode(
    dict({ length: totalLength, name: new TextEncoder().encode("file.bin"), "piece length": pieceLength, pieces: concatBytes(hashes), "x-padding": random.bytes(40_000) }),
  );
  return { data, shape: { pieceCount, pieceLength, totalLength }, infoBytes, infoHash: infoHashFromBytes(await sha1(infoBytes)) };
}

const ofType = <T extends PeerEvent["type"]>(events: readonly PeerEvent[], type: T): Extract<PeerEvent, { type: T }>[] =>
  events.filter((e): e is Extract<PeerEvent, { type: T }> => e.type === type);

describe("two PeerConnections through an in-memory pipe with random re-chunking", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`do a full exchange: handshakes, extended handshakes, metadata fetch, bitfield, requests, pieces (seed ${seed})`, async () => {
      const f = await fixture(seed);
      const random = seededRandom(seed * 7919);
      const clock = new ManualClock(1_000);
      // A seeds (has the metadata); B joined from a magnet link (infohash only).
      const a = new PeerConnection({ infoHash: f.infoHash, localPeerId: PEER_A, direction: "outbound", localExtensions: { utMetadataId: 3, metadataSize: f.infoBytes.length } }, clock);
      const b = new PeerConnection({ infoHash: f.infoHash, localPeerId: PEER_B, direction: "inbound", localExtensions: { utMetadataId: 7 } }, clock);
      expect(a.setTorrentShape(f.shape)).toEqual([]);

      // BEP 3 handshake: the outbound side first, the inbound side answers.
      a.sendHandshake();
      let d = pump(a, b, random);
      expect(d.b).toEqual([{ type: "handshake", peerId: PEER_A, reserved: expect.any(Uint8Array), extensionProtocol: true, fastExtension: true }]);
      b.sendHandshake();
      d = pump(a, b, random);
      expect(ofType(d.a, "handshake").map((e) => e.peerId)).toEqual([PEER_B]);
      expect(a.supportsFast && b.supportsFast && a.supportsExtensions && b.supportsExtensions).toBe(true);

      // BEP 10 extended handshakes; A announces a bitfield (B cannot validate it yet: no metadata).
      a.sendExtendedHandshake();
      a.bitfield(Bitfield.full(f.shape.pieceCount));
      b.sendExtendedHandshake();
      d = pump(a, b, random);
      const [extB] = ofType(d.b, "extended-handshake");
      expect(extB?.metadataSize).toBe(f.infoBytes.length);
      expect(extB?.client).toBe("SwarmDrop 0.1");
      expect(extB?.m.get("ut_metadata")).toBe(3);
      expect(ofType(d.a, "extended-handshake")[0]?.m.get("ut_metadata")).toBe(7);
      expect(ofType(d.b, "bitfield")).toEqual([]); // kept until the shape is known

      // BEP 9: B fetches the info dict in 16 KiB pieces and checks it against the infohash.
      const fetcher = new MetadataFetcher({ infoHash: f.infoHash, maxRequestsPerPeer: 2 });
      expect(fetcher.addPeer("a", extB!.metadataSize!)).toBe(true);
      let result: MetadataVerifyResult<string> | null = null;
      for (let round = 0; round < 20 && result === null; round++) {
        for (const r of fetcher.nextRequests(clock.nowMs())) b.sendMetadataRequest(r.piece);
        d = pump(a, b, random);
        for (const e of ofType(d.a, "metadata-request")) {
          const answer = answerMetadataRequest(f.infoBytes, e.piece);
          if (answer.type === "data") a.sendMetadataData(answer.piece, answer.totalSize, answer.data);
        }
        d = pump(a, b, random);
        for (const e of ofType(d.b, "metadata-data")) {
          if (fetcher.onData("a", e.piece, e.totalSize, e.data) === "complete") result = await fetcher.verify();
        }
      }
      expect(result?.ok).toBe(true);
      expect(toHex(fetcher.infoBytes!)).toBe(toHex(f.infoBytes));
      expect(metadataPieceCount(f.infoBytes.length)).toBeGreaterThan(2);

      // Now B knows the shape: the early bitfield is validated and delivered.
      const shaped = b.setTorrentShape(f.shape);
      expect(shaped.map((e) => e.type)).toEqual(["bitfield"]);
      expect(b.remoteBitfield?.complete).toBe(true);

      // Interest, unchoke, then every block requested (pipelined) and served.
      b.interested();
      d = pump(a, b, random);
      expect(ofType(d.a, "interested")).toHaveLength(1);
      a.unchoke();
      d = pump(a, b, random);
      expect(ofType(d.b, "unchoke")).toHaveLength(1);
      expect(b.peerChoking).toBe(false);
      const blocks: [number, number, number][] = [];
      for (let i = 0; i < f.shape.pieceCount; i++) {
        const size = Math.min(f.shape.pieceLength, f.shape.totalLength - i * f.shape.pieceLength);
        for (let begin = 0; begin < size; begin += 16384) blocks.push([i, begin, Math.min(16384, size - begin)]);
      }
      for (const [i, begin, length] of blocks) b.request(i, begin, length);
      expect(b.requestsInFlightCount).toBe(blocks.length);
      clock.advance(50);
      d = pump(a, b, random);
      const requests = ofType(d.a, "request");
      expect(requests.map((r) => [r.index, r.begin, r.length])).toEqual(blocks);
      for (const r of requests) {
        const start = r.index * f.shape.pieceLength + r.begin;
        expect(a.piece(r.index, r.begin, f.data.slice(start, start + r.length))).toBe(true);
      }
      clock.advance(50);
      d = pump(a, b, random);
      const received = new Uint8Array(f.shape.totalLength);
      for (const p of ofType(d.b, "piece")) {
        received.set(p.block, p.index * f.shape.pieceLength + p.begin);
        expect(p.requestedAtMs).toBe(1_000);
      }
      expect(toHex(received)).toBe(toHex(f.data));
      expect(b.requestsInFlightCount).toBe(0);
      expect(a.pendingRemoteRequests).toEqual([]);
      expect(b.downloadedBytes).toBe(f.shape.totalLength);
      expect(a.uploadedBytes).toBe(f.shape.totalLength);
      expect(b.downloadRateBytesPerS).toBeGreaterThan(0);

      // B announces what it now has; A sees the haves.
      for (let i = 0; i < f.shape.pieceCount; i++) b.have(i);
      b.notInterested();
      d = pump(a, b, random);
      expect(d.a.filter((e) => e.type === "violation")).toEqual([]);
      expect(ofType(d.a, "not-interested")).toHaveLength(1);
      // A never received B's bitfield, so each have is new.
      expect(ofType(d.a, "have").map((e) => e.index)).toEqual([...Array(f.shape.pieceCount).keys()]);
      expect(a.closed || b.closed).toBe(false);
    });
  }
});

describe("a magnet joiner fetching metadata and pieces from several peers through re-chunking pipes", () => {
  for (const seed of [11, 12, 13]) {
    it(`spreads the BEP 9 fetch over peers, re-requests what one rejects, verifies, then downloads from both seeds (seed ${seed})`, async () => {
      const f = await fixture(seed);
      const random = seededRandom(seed);
      const clock = new ManualClock(0);
      const joinerId = (n: number): typeof PEER_A => peerIdFromHex(`2d5344303130302d6a6a6a6a6a6a6a6a6a6a6a0${n}`);
      const seederId = (n: number): typeof PEER_A => peerIdFromHex(`2d5344303130302d737373737373737373737373`.slice(0, 38) + `0${n}`);
      // Three remote peers announce the metadata; the third rejects every metadata request.
      const names = ["s1", "s2", "trimmer"] as const;
      const links = names.map((name, n) => {
        const remote = new PeerConnection(
          { infoHash: f.infoHash, localPeerId: seederId(n), direction: "outbound", localExtensions: { utMetadataId: 1 + n, metadataSize: f.infoBytes.length } },
          clock,
        );
        const local = new PeerConnection({ infoHash: f.infoHash, localPeerId: joinerId(n), direction: "inbound" }, clock);
        remote.setTorrentShape(f.shape);
        return { name, remote, local };
      });
      const fetcher = new MetadataFetcher({ infoHash: f.infoHash, maxRequestsPerPeer: 1 });
      const served = new Map<string, number>();
      let verified: MetadataVerifyResult<string> | null = null;
      const step = async (): Promise<void> => {
        for (const link of links) {
          const d = pump(link.remote, link.local, random);
          for (const e of d.a) {
            // The remote (seeder) side, as a session would drive it.
            if (e.type === "handshake") {
              link.remote.sendExtendedHandshake();
              link.remote.haveAll();
            }
            if (e.type === "metadata-request") {
              if (link.name === "trimmer") link.remote.sendMetadataReject(e.piece);
              else {
                const answer = answerMetadataRequest(f.infoBytes, e.piece);
                if (answer.type === "data") link.remote.sendMetadataData(answer.piece, answer.totalSize, answer.data);
              }
            }
            if (e.type === "interested") link.remote.unchoke();
            if (e.type === "request") {
              const start = e.index * f.shape.pieceLength + e.begin;
              link.remote.piece(e.index, e.begin, f.data.slice(start, start + e.length));
            }
          }
          for (const e of d.b) {
            expect(e.type).not.toBe("violation");
            if (e.type === "handshake") {
              link.local.sendHandshake();
              link.local.sendExtendedHandshake();
            }
            if (e.type === "extended-handshake" && e.metadataSize !== null) fetcher.addPeer(link.name, e.metadataSize);
            if (e.type === "metadata-reject") fetcher.onReject(link.name, e.piece, clock.nowMs());
            if (e.type === "metadata-data") {
              served.set(link.name, (served.get(link.name) ?? 0) + 1);
              if (fetcher.onData(link.name, e.piece, e.totalSize, e.data) === "complete") verified = await fetcher.verify();
            }
          }
        }
        for (const r of fetcher.nextRequests(clock.nowMs())) links.find((l) => l.name === r.peer)!.local.sendMetadataRequest(r.piece);
        clock.advance(10);
      };
      for (const link of links) link.remote.sendHandshake();
      for (let i = 0; i < 50 && verified === null; i++) await step();
      expect(verified).toEqual({ ok: true, infoBytes: f.infoBytes, liars: [] });
      // Both honest peers served pieces; the trimmer served none.
      expect(served.get("s1")).toBeGreaterThan(0);
      expect(served.get("s2")).toBeGreaterThan(0);
      expect(served.get("trimmer")).toBeUndefined();

      // The shape is known: the early have_all of each seed arrives as a full bitfield.
      for (const link of links) {
        const events = link.local.setTorrentShape(f.shape);
        expect(events.map((e) => e.type)).toEqual(["bitfield"]);
        link.local.interested();
      }
      await step(); // interested out, unchoke queued
      await step(); // unchoke in
      expect(links.map((l) => l.local.peerChoking)).toEqual([false, false, false]);
      // Request each block from a seed chosen in turn, then collect.
      const received = new Uint8Array(f.shape.totalLength);
      let k = 0;
      for (let i = 0; i < f.shape.pieceCount; i++) {
        const size = Math.min(f.shape.pieceLength, f.shape.totalLength - i * f.shape.pieceLength);
        for (let begin = 0; begin < size; begin += 16384) links[k++ % 2]!.local.request(i, begin, Math.min(16384, size - begin));
      }
      for (const link of links) {
        pump(link.remote, link.local, random); // requests out
        const d = pump(link.remote, link.local, random);
        expect(d.a).toEqual([]);
      }
      for (const link of links) {
        const requests = link.remote.pendingRemoteRequests;
        for (const r of requests) {
          const start = r.index * f.shape.pieceLength + r.begin;
          link.remote.piece(r.index, r.begin, f.data.slice(start, start + r.length));
        }
        for (const e of pump(link.remote, link.local, random).b) if (e.type === "piece") received.set(e.block, e.index * f.shape.pieceLength + e.begin);
      }
      expect(toHex(received)).toBe(toHex(f.data));
      expect(links[0]!.local.downloadedBytes + links[1]!.local.downloadedBytes).toBe(f.shape.totalLength);
    });
  }
});

// ---- one connection fed hand-made bytes -------------------------------------------

const INFO_HASH = infoHashFromBytes(Uint8Array.from({ length: 20 }, (_, i) => i + 1));
const OTHER_HASH = infoHashFromBytes(Uint8Array.from({ length: 20 }, (_, i) => 40 - i));
const SHAPE: TorrentShape = { pieceCount: 10, pieceLength: 32768, totalLength: 9 * 32768 + 100 };

interface VictimOptions {
  readonly remoteFast?: boolean;
  readonly remoteExtensions?: boolean;
  readonly shape?: TorrentShape | null;
  readonly unchoked?: boolean;
  readonly remotePeerId?: typeof PEER_A;
}

/** Our connection (B) after both handshakes, fed raw bytes as if from peer A. */
function victim(options: VictimOptions = {}): { v: PeerConnection; clock: ManualClock; feed: (...items: (WireMessage | Uint8Array)[]) => PeerEvent[] } {
  const clock = new ManualClock(0);
  const v = new PeerConnection({ infoHash: INFO_HASH, localPeerId: PEER_B, direction: "inbound", localExtensions: { utMetadataId: 2, metadataSize: null } }, clock);
  const shape = options.shape === undefined ? SHAPE : options.shape;
  if (shape !== null) v.setTorrentShape(shape);
  v.sendHandshake();
  const handshake = encodeHandshake(
    makeHandshake({
      infoHash: INFO_HASH,
      peerId: options.remotePeerId ?? PEER_A,
      extensionProtocol: options.remoteExtensions ?? true,
      fastExtension: options.remoteFast ?? true,
    }),
  );
  const first = v.receive(handshake);
  expect(first.map((e) => e.type)).toEqual(["handshake"]);
  if (options.unchoked === true) v.unchoke();
  v.takeOutgoing();
  const feed = (...items: (WireMessage | Uint8Array)[]): PeerEvent[] =>
    v.receive(concatBytes(items.map((item) => (item instanceof Uint8Array ? item : encodeMessage(item)))));
  return { v, clock, feed };
}

const ext = (id: number, payload: string): WireMessage => ({ type: "extended", id, payload: Uint8Array.from(payload, (c) => c.charCodeAt(0)) });
const hex = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, ""))!;

function violationOf(events: readonly PeerEvent[]): ViolationKind | "none" {
  const last = events.at(-1);
  return last?.type === "violation" ? last.error.kind : "none";
}

/** Decodes what a connection queued (after its handshake), as messages. */
function sent(v: PeerConnection): WireMessage[] {
  const out: WireMessage[] = [];
  const decoder = new FrameDecoder({ expectHandshake: false });
  for (let chunk = v.takeOutgoing(); chunk !== null; chunk = v.takeOutgoing()) {
    for (const f of decoder.push(chunk)) if (f.kind === "message") out.push(f.message);
  }
  return out;
}

describe("PeerConnection: protocol violations end the connection with a typed error", () => {
  const handshakeOf = (infoHash: InfoHash, peerId: typeof PEER_A): Uint8Array =>
    encodeHandshake(makeHandshake({ infoHash, peerId, extensionProtocol: true, fastExtension: true }));
  const fresh = (): PeerConnection => new PeerConnection({ infoHash: INFO_HASH, localPeerId: PEER_B, direction: "inbound" }, new ManualClock());

  const handshakeCases: readonly [string, Uint8Array, ViolationKind][] = [
    ["a handshake for another torrent", handshakeOf(OTHER_HASH, PEER_A), "wrong-info-hash"],
    ["a handshake with our own peer id", handshakeOf(INFO_HASH, PEER_B), "self-connection"],
    ["a handshake with pstrlen 20", hex("14"), "bad-handshake"],
    ["a message instead of a handshake", hex("0000000d 06 00000000 00000000 00004000"), "bad-handshake"],
  ];
  for (const [name, bytes, kind] of handshakeCases) {
    it(`${name} -> ${kind}`, () => {
      const v = fresh();
      expect(violationOf(v.receive(bytes))).toBe(kind);
      expect(v.closed).toBe(true);
    });
  }

  const bigRequests = Array.from({ length: 501 }, (_, i): WireMessage => ({ type: "request", index: i % 9, begin: (i % 2) * 16384, length: 16384 - Math.floor(i / 18) }));
  const cases: readonly [string, VictimOptions, (WireMessage | Uint8Array)[], ViolationKind][] = [
    ["a length prefix over the frame bound, before its body", {}, [hex("00100000")], "frame-too-large"],
    ["a piece frame over the 16 KiB block bound, before its body", {}, [hex("0000400a 07")], "frame-too-large"],
    ["an extended frame over 17 KiB, before its body", {}, [hex("00004403 14")], "frame-too-large"],
    ["choke with a payload byte", {}, [hex("00000002 00 00")], "malformed-message"],
    ["a bitfield one byte too long", {}, [{ type: "bitfield", bits: hex("ffc000") }], "bad-bitfield"],
    ["a bitfield one byte short (10 pieces need 2)", {}, [{ type: "bitfield", bits: hex("ff") }], "bad-bitfield"],
    ["a bitfield with spare bits set", {}, [{ type: "bitfield", bits: hex("ffe0") }], "bad-bitfield"],
    ["a second bitfield", {}, [{ type: "bitfield", bits: hex("ffc0") }, { type: "have-all" }], "duplicate-bitfield"],
    ["have of piece 10 of 10", {}, [{ type: "have", index: 10 }], "index-out-of-range"],
    ["request of piece 10", { unchoked: true }, [{ type: "request", index: 10, begin: 0, length: 16384 }], "index-out-of-range"],
    ["request of 16 KiB + 1", { unchoked: true }, [{ type: "request", index: 0, begin: 0, length: 16385 }], "bad-request"],
    ["request of 128 KiB", { unchoked: true }, [{ type: "request", index: 0, begin: 0, length: 131072 }], "bad-request"],
    ["request of 0 bytes", { unchoked: true }, [{ type: "request", index: 0, begin: 0, length: 0 }], "bad-request"],
    ["request past the end of a piece", { unchoked: true }, [{ type: "request", index: 0, begin: 16385, length: 16384 }], "bad-request"],
    ["request past the end of the short last piece", { unchoked: true }, [{ type: "request", index: 9, begin: 0, length: 101 }], "bad-request"],
    ["request at begin near 2^32 (no overflow)", { unchoked: true }, [{ type: "request", index: 0, begin: 0xffffffff, length: 1 }], "bad-request"],
    ["501 pending requests", { unchoked: true }, bigRequests, "request-flood"],
    ["a piece we never requested", {}, [{ type: "piece", index: 0, begin: 0, block: new Uint8Array(16384) }], "unrequested-piece"],
    ["a piece of piece 10", {}, [{ type: "piece", index: 10, begin: 0, block: new Uint8Array(1) }], "index-out-of-range"],
    ["a cancel of piece 10", {}, [{ type: "cancel", index: 10, begin: 0, length: 16384 }], "index-out-of-range"],
    ["a reject of a request we never made", {}, [{ type: "reject", index: 0, begin: 0, length: 16384 }], "unrequested-reject"],
    ["allowed_fast of piece 10", {}, [{ type: "allowed-fast", index: 10 }], "index-out-of-range"],
    ["suggest of piece 99", {}, [{ type: "suggest", index: 99 }], "index-out-of-range"],
    ["have_all without the fast bit", { remoteFast: false }, [{ type: "have-all" }], "fast-not-negotiated"],
    ["reject without the fast bit", { remoteFast: false }, [{ type: "reject", index: 0, begin: 0, length: 16384 }], "fast-not-negotiated"],
    ["an extended message without the BEP 10 bit", { remoteExtensions: false }, [ext(0, "de")], "extensions-not-negotiated"],
    ["an extended id we never assigned", {}, [ext(99, "de")], "unknown-extension"],
    ["an extended handshake of malformed bencode", {}, [ext(0, "d1:md11:ut_metadatai1e")], "malformed-bencode"],
    ["an extended handshake with m as a list", {}, [ext(0, "d1:mlee")], "bad-extended-handshake"],
    ["an extended handshake with metadata_size 17 MiB", {}, [ext(0, "d13:metadata_sizei17825792ee")], "metadata-too-large"],
    ["ut_metadata of malformed bencode", {}, [ext(2, "d8:msg_typei0e5:piece")], "malformed-bencode"],
    ["ut_metadata data of the wrong length", {}, [ext(2, "d8:msg_typei1e5:piecei0e10:total_sizei100eexyz")], "bad-metadata-message"],
    ["a request before we have the metadata", { shape: null }, [{ type: "request", index: 0, begin: 0, length: 16384 }], "unexpected-message"],
    ["a have beyond any torrent within 16 MiB of metadata", { shape: null }, [{ type: "have", index: 900_000 }], "index-out-of-range"],
  ];
  for (const [name, options, input, kind] of cases) {
    it(`${name} -> ${kind}`, () => {
      const { v, feed } = victim(options);
      const events = feed(...input);
      expect(violationOf(events)).toBe(kind);
      expect(events.filter((e) => e.type === "violation")).toHaveLength(1);
      // Closed: nothing more comes out, intents do nothing, nothing is queued.
      expect(v.closed).toBe(true);
      expect(v.closeReason).toBeInstanceOf(ProtocolViolation);
      expect(feed({ type: "interested" })).toEqual([]);
      v.interested();
      expect(v.takeOutgoing()).toBeNull();
      expect(v.tick()).toEqual([]);
    });
  }

  it("with a 128 KiB block size agreed, 128 KiB requests and pieces pass and 128 KiB + 1 does not", () => {
    const clock = new ManualClock();
    const big: TorrentShape = { pieceCount: 2, pieceLength: 256 * 1024, totalLength: 512 * 1024 };
    const make = (id: typeof PEER_A): PeerConnection =>
      new PeerConnection({ infoHash: INFO_HASH, localPeerId: id, direction: "inbound", limits: { maxBlockBytes: 128 * 1024 } }, clock);
    const a = make(PEER_A);
    const b = make(PEER_B);
    a.setTorrentShape(big);
    b.setTorrentShape(big);
    a.sendHandshake();
    b.sendHandshake();
    const random = seededRandom(5);
    pump(a, b, random);
    a.unchoke();
    pump(a, b, random);
    b.request(1, 128 * 1024, 128 * 1024);
    const asked = pump(a, b, random).a;
    expect(asked).toEqual([{ type: "request", index: 1, begin: 131072, length: 131072 }]);
    a.piece(1, 131072, new Uint8Array(131072).fill(3));
    const got = pump(a, b, random).b;
    expect(got.map((e) => (e.type === "piece" ? e.block.length : e.type))).toEqual([131072]);
    expect(violationOf(b.receive(encodeMessage({ type: "request", index: 0, begin: 0, length: 131073 })))).toBe("bad-request");
  });

  it("500 pending requests are fine (the bound is inclusive)", () => {
    const { v, feed } = victim({ unchoked: true });
    expect(violationOf(feed(...bigRequests.slice(0, 500)))).toBe("none");
    expect(v.pendingRemoteRequests).toHaveLength(500);
  });

  it("a peer flooding requests while choked (BEP 6 rejects it cannot drain) -> request-flood", () => {
    const { v, feed } = victim({});
    expect(violationOf(feed(...bigRequests.slice(0, 500)))).toBe("none");
    expect(v.pendingRemoteRequests).toHaveLength(0);
    expect(violationOf(feed(bigRequests[500]!))).toBe("request-flood");
  });

  it("a peer asking for metadata pieces endlessly -> request-flood (64 + 4 per announced piece)", () => {
    const { v, feed } = victim({});
    v.sendExtendedHandshake({ metadataSize: 40_000 }); // 3 pieces: 64 + 12 requests allowed
    const request = ext(2, "d8:msg_typei0e5:piecei0ee");
    const allowed = feed(...Array.from({ length: 76 }, () => request));
    expect(allowed.filter((e) => e.type === "metadata-request")).toHaveLength(76);
    expect(violationOf(feed(request))).toBe("request-flood");
  });

  it("bitfield that arrived before the metadata is validated once the shape is known", () => {
    const { v, feed } = victim({ shape: null });
    expect(feed({ type: "bitfield", bits: hex("ff") })).toEqual([]);
    const events = v.setTorrentShape(SHAPE);
    expect(violationOf(events)).toBe("bad-bitfield");
    expect(v.closed).toBe(true);
  });

  it("a have that arrived before the metadata, beyond the piece count, is a violation once the shape is known", () => {
    const { v, feed } = victim({ shape: null });
    expect(feed({ type: "have", index: 3 }, { type: "have", index: 12 })).toEqual([]);
    expect(violationOf(v.setTorrentShape(SHAPE))).toBe("index-out-of-range");
  });

  it("nothing received for idleTimeoutMs -> timeout; no handshake within handshakeTimeoutMs -> timeout", () => {
    const { v, clock, feed } = victim({});
    clock.advance(149_999);
    expect(v.tick()).toEqual([]);
    feed({ type: "keep-alive" });
    clock.advance(149_999);
    expect(v.tick()).toEqual([]);
    clock.advance(1);
    expect(violationOf(v.tick())).toBe("timeout");

    const quiet = new ManualClock(0);
    const w = new PeerConnection({ infoHash: INFO_HASH, localPeerId: PEER_B, direction: "outbound" }, quiet);
    quiet.advance(29_999);
    expect(w.tick()).toEqual([]);
    quiet.advance(1);
    expect(violationOf(w.tick())).toBe("timeout");
  });

  it("survives any bytes a peer sends: never throws, closes at most once, buffers at most one bounded frame", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 20 }), fc.boolean(), (chunks, withHeader) => {
        const { v } = victim({ unchoked: true });
        let violations = 0;
        for (const chunk of chunks) {
          // Half the time, make the garbage look like frames so it gets past the length check.
          const bytes = withHeader && chunk.length > 0 ? concatBytes([hex("000000"), Uint8Array.of(Math.min(chunk.length, 255)), chunk]) : chunk;
          const events = v.receive(bytes);
          violations += events.filter((e) => e.type === "violation").length;
        }
        expect(violations).toBeLessThanOrEqual(1);
        expect(v.closed).toBe(violations === 1);
        expect(v.pendingRemoteRequests.length).toBeLessThanOrEqual(500);
      }),
      { numRuns: 300 },
    );
  });
});

describe("PeerConnection: BEP 3 / BEP 6 state rules", () => {
  it("without BEP 6, a choke drops our requests in flight and lists them; late blocks within the grace window are dropped", () => {
    const { v, clock, feed } = victim({ remoteFast: false });
    feed({ type: "unchoke" });
    v.request(0, 0, 16384);
    v.request(0, 16384, 16384);
    const events = feed({ type: "choke" });
    expect(events).toEqual([
      {
        type: "choke",
        droppedRequests: [
          { index: 0, begin: 0, length: 16384 },
          { index: 0, begin: 16384, length: 16384 },
        ],
      },
    ]);
    expect(v.requestsInFlightCount).toBe(0);
    clock.advance(1_000);
    expect(feed({ type: "piece", index: 0, begin: 0, block: new Uint8Array(16384) })).toEqual([]);
    expect(v.closed).toBe(false);
    // The same block again is no longer forgiven (it was taken), nor is one after the grace window.
    expect(violationOf(feed({ type: "piece", index: 0, begin: 0, block: new Uint8Array(16384) }))).toBe("unrequested-piece");
  });

  it("a block arriving after the grace window for a choked-away request is a violation", () => {
    const { v, clock, feed } = victim({ remoteFast: false });
    feed({ type: "unchoke" });
    v.request(1, 0, 16384);
    feed({ type: "choke" });
    clock.advance(30_000);
    v.tick();
    expect(violationOf(feed({ type: "piece", index: 1, begin: 0, block: new Uint8Array(16384) }))).toBe("unrequested-piece");
  });

  it("with BEP 6, a choke keeps our requests; the peer's rejects end them", () => {
    const { v, feed } = victim({});
    feed({ type: "unchoke" });
    v.request(2, 0, 16384);
    expect(feed({ type: "choke" })).toEqual([{ type: "choke", droppedRequests: [] }]);
    expect(v.requestsInFlightCount).toBe(1);
    expect(feed({ type: "reject", index: 2, begin: 0, length: 16384 })).toEqual([{ type: "reject", index: 2, begin: 0, length: 16384 }]);
    expect(v.requestsInFlightCount).toBe(0);
    // A piece crossing the reject is dropped quietly.
    expect(feed({ type: "piece", index: 2, begin: 0, block: new Uint8Array(16384) })).toEqual([]);
  });

  it("a cancelled request's late block or reject is dropped silently (BEP 3 cancel race, BEP 6)", () => {
    const { v, feed } = victim({});
    feed({ type: "unchoke" });
    v.request(3, 0, 16384);
    v.request(3, 16384, 16384);
    expect(v.cancel(3, 0, 16384)).toBe(true);
    expect(v.cancel(3, 0, 16384)).toBe(false);
    expect(sent(v).map((m) => m.type)).toEqual(["request", "request", "cancel"]);
    expect(feed({ type: "piece", index: 3, begin: 0, block: new Uint8Array(16384) })).toEqual([]);
    expect(v.cancel(3, 16384, 16384)).toBe(true);
    expect(feed({ type: "reject", index: 3, begin: 16384, length: 16384 })).toEqual([]);
    expect(v.closed).toBe(false);
  });

  it("their requests while we choke: ignored without BEP 6, rejected with it, accepted when allowed fast", () => {
    const plain = victim({ remoteFast: false });
    expect(plain.feed({ type: "request", index: 0, begin: 0, length: 16384 })).toEqual([]);
    expect(sent(plain.v)).toEqual([]);

    const fast = victim({});
    expect(fast.feed({ type: "request", index: 0, begin: 0, length: 16384 })).toEqual([]);
    expect(sent(fast.v)).toEqual([{ type: "reject", index: 0, begin: 0, length: 16384 }]);
    fast.v.allowedFast(4);
    sent(fast.v);
    expect(fast.feed({ type: "request", index: 4, begin: 0, length: 16384 })).toEqual([{ type: "request", index: 4, begin: 0, length: 16384 }]);
  });

  it("our handshake leads the stream even when their handshake and a request arrive in one chunk", () => {
    const v = new PeerConnection({ infoHash: INFO_HASH, localPeerId: PEER_B, direction: "inbound" }, new ManualClock());
    v.setTorrentShape(SHAPE);
    const chunk = concatBytes([
      encodeHandshake(makeHandshake({ infoHash: INFO_HASH, peerId: PEER_A, extensionProtocol: true, fastExtension: true })),
      encodeMessage({ type: "request", index: 0, begin: 0, length: 16384 }),
    ]);
    expect(v.receive(chunk).map((e) => e.type)).toEqual(["handshake"]);
    expect(v.takeOutgoing()).toBeNull();
    v.sendHandshake();
    expect(v.takeOutgoing()?.length).toBe(68);
  });

  it("takeFrames hands over the queued frames without copying a block, continuing where takeOutgoing stopped", () => {
    const { v, feed } = victim({ unchoked: true });
    feed({ type: "request", index: 2, begin: 0, length: 16384 }, { type: "request", index: 2, begin: 16384, length: 16384 });
    const blocks = [new Uint8Array(16384).fill(7), new Uint8Array(16384).fill(9)];
    expect(v.piece(2, 0, blocks[0]!)).toBe(true);
    expect(v.piece(2, 16384, blocks[1]!)).toBe(true);
    const total = v.outgoingBytes;
    const head = v.takeOutgoing(5)!;
    const frames = v.takeFrames(10_000);
    expect(v.outgoingBytes).toBe(0);
    expect(v.takeFrames()).toEqual([]);
    expect(frames.every((f) => f.length <= 10_000)).toBe(true);
    // The blocks go out as views of the caller's arrays.
    expect(frames.filter((f) => f.buffer === blocks[0]!.buffer).length).toBe(2);
    const stream = concatBytes([head, ...frames]);
    expect(stream.length).toBe(total);
    const decoded = new FrameDecoder({ expectHandshake: false }).push(stream).flatMap((f) => (f.kind === "message" ? [f.message] : []));
    expect(decoded).toEqual([
      { type: "piece", index: 2, begin: 0, block: blocks[0] },
      { type: "piece", index: 2, begin: 16384, block: blocks[1] },
    ]);
  });

  it("choking them: BEP 6 rejects each pending request except allowed fast; BEP 3 discards them", () => {
    const fast = victim({ unchoked: true });
    fast.v.allowedFast(1);
    fast.feed({ type: "request", index: 0, begin: 0, length: 16384 }, { type: "request", index: 1, begin: 0, length: 16384 });
    sent(fast.v);
    expect(fast.v.choke()).toEqual([{ index: 0, begin: 0, length: 16384 }]);
    expect(sent(fast.v)).toEqual([{ type: "choke" }, { type: "reject", index: 0, begin: 0, length: 16384 }]);
    expect(fast.v.pendingRemoteRequests.map((r) => r.index)).toEqual([1]);
    expect(fast.v.piece(0, 0, new Uint8Array(16384))).toBe(false);
    expect(fast.v.piece(1, 0, new Uint8Array(16384))).toBe(true);

    const plain = victim({ remoteFast: false, unchoked: true });
    plain.feed({ type: "request", index: 0, begin: 0, length: 16384 });
    expect(plain.v.choke()).toEqual([{ index: 0, begin: 0, length: 16384 }]);
    expect(sent(plain.v)).toEqual([{ type: "choke" }]);
    expect(plain.v.pendingRemoteRequests).toEqual([]);
  });

  it("their cancel removes the pending request; with BEP 6 we answer it with a reject", () => {
    const { v, feed } = victim({ unchoked: true });
    feed({ type: "request", index: 5, begin: 0, length: 16384 });
    expect(feed({ type: "cancel", index: 5, begin: 0, length: 16384 })).toEqual([{ type: "cancel", index: 5, begin: 0, length: 16384 }]);
    expect(sent(v)).toEqual([{ type: "reject", index: 5, begin: 0, length: 16384 }]);
    expect(v.piece(5, 0, new Uint8Array(16384))).toBe(false);
    // A cancel crossing the piece we already sent is ignored.
    expect(feed({ type: "cancel", index: 5, begin: 0, length: 16384 })).toEqual([]);
  });

  it("have events only for newly announced pieces; have_all fills the bitfield", () => {
    const { v, feed } = victim({});
    expect(feed({ type: "have", index: 1 }, { type: "have", index: 1 })).toEqual([{ type: "have", index: 1 }]);
    expect(feed({ type: "have-all" })).toEqual([{ type: "have-all" }]);
    expect(v.remoteBitfield?.complete).toBe(true);
  });

  it("allowed_fast received before the metadata is replayed by setTorrentShape and lets us request while choked", () => {
    const { v, feed } = victim({ shape: null });
    expect(feed({ type: "allowed-fast", index: 7 }, { type: "have-none" })).toEqual([]);
    const events = v.setTorrentShape(SHAPE);
    expect(events.map((e) => e.type)).toEqual(["bitfield", "allowed-fast"]);
    expect(v.canRequest(7)).toBe(true);
    expect(v.canRequest(6)).toBe(false);
    v.request(7, 0, 16384);
    expect(() => v.request(6, 0, 16384)).toThrow(WireUsageError);
  });

  it("rejects misuse by our own code with WireUsageError", () => {
    const plain = victim({ remoteFast: false });
    expect(() => plain.v.haveAll()).toThrow(WireUsageError);
    expect(() => plain.v.request(0, 0, 16384)).toThrow(WireUsageError); // choked
    plain.feed({ type: "unchoke" });
    expect(() => plain.v.request(0, 0, 16385)).toThrow(WireUsageError);
    expect(() => plain.v.request(10, 0, 16384)).toThrow(WireUsageError);
    plain.v.request(0, 0, 16384);
    expect(() => plain.v.request(0, 0, 16384)).toThrow(WireUsageError);
    expect(() => plain.v.sendHandshake()).toThrow(WireUsageError);
    expect(() => plain.v.sendMetadataRequest(0)).toThrow(WireUsageError); // no ut_metadata from them
  });
});

describe("PeerConnection: output", () => {
  it("coalesces frames into chunks of at most maxBytes, splitting frames across chunks", () => {
    const { v } = victim({ unchoked: true });
    const messages: WireMessage[] = [{ type: "have", index: 1 }, { type: "interested" }, { type: "have", index: 2 }];
    v.have(1);
    v.interested();
    v.have(2);
    const expected = concatBytes(messages.map(encodeMessage));
    expect(v.outgoingBytes).toBe(expected.length);
    const chunks: Uint8Array[] = [];
    for (let c = v.takeOutgoing(7); c !== null; c = v.takeOutgoing(7)) chunks.push(c);
    expect(chunks.map((c) => c.length)).toEqual([7, 7, 7, 2]);
    expect(toHex(concatBytes(chunks))).toBe(toHex(expected));
    expect(v.outgoingBytes).toBe(0);
  });

  it("queues a keep-alive after keepAliveIntervalMs of our silence (BEP 3), not before", () => {
    const { v, clock, feed } = victim({});
    clock.advance(59_999);
    feed({ type: "keep-alive" });
    expect(v.tick()).toEqual([]);
    expect(v.takeOutgoing()).toBeNull();
    clock.advance(1);
    v.tick();
    expect(toHex(v.takeOutgoing()!)).toBe("00000000");
    v.tick();
    expect(v.takeOutgoing()).toBeNull();
  });

  it("sends our extended handshake with m, v, reqq and metadata_size, and again when metadata arrives", () => {
    const { v } = victim({});
    v.sendExtendedHandshake();
    v.sendExtendedHandshake({ metadataSize: 1234 });
    const [first, second] = sent(v);
    const text = (m: WireMessage | undefined): string => (m?.type === "extended" ? String.fromCharCode(...m.payload) : "");
    expect(text(first)).toBe("d1:md11:ut_metadatai2ee4:reqqi250e1:v13:SwarmDrop 0.1e");
    expect(text(second)).toBe("d1:md11:ut_metadatai2ee13:metadata_sizei1234e4:reqqi250e1:v13:SwarmDrop 0.1e");
  });

  it("later extended handshakes update the peer's map; id 0 removes an extension (BEP 10)", () => {
    const { v, feed } = victim({});
    feed(ext(0, "d1:md11:ut_metadatai3eee"));
    expect(v.supportsMetadata).toBe(true);
    const events = feed(ext(0, "d1:md11:ut_metadatai0eee"));
    expect(events[0]?.type === "extended-handshake" && events[0].m.size).toBe(0);
    expect(v.supportsMetadata).toBe(false);
  });
});
