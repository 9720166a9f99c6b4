import { describe, expect, it } from "vitest";
import { dict, encode } from "../bencode.ts";
import { concatBytes, sha1, toHex } from "../bytes.ts";
import { infoHashFromBytes, peerIdFromHex, type InfoHash } from "../ids.ts";
import { seededRandom } from "../random.ts";
import { Bitfield } from "./bitfield.ts";
import { metadataPieceBytes, metadataPieceCount } from "./metadata.ts";
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
      const count = metadataPieceCount(f.infoBytes.length);
      expect(count).toBeGreaterThan(2);
      for (let p = 0; p < count; p++) b.sendMetadataRequest(p);
      d = pump(a, b, random);
      const asked = ofType(d.a, "metadata-request").map((e) => e.piece);
      expect(asked).toEqual([...Array(count).keys()]);
      for (const p of asked) a.sendMetadataData(p, f.infoBytes.length, f.infoBytes.subarray(p * metadataPieceBytes, (p + 1) * metadataPieceBytes));
      d = pump(a, b, random);
      const got = ofType(d.b, "metadata-data").sort((x, y) => x.piece - y.piece);
      const assembled = concatBytes(got.map((e) => e.data));
      expect(toHex(await sha1(assembled))).toBe(f.infoHash);

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
