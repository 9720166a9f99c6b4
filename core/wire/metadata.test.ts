import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { concatBytes, sha1, toHex } from "../bytes.ts";
import { infoHashFromBytes } from "../ids.ts";
import { seededRandom } from "../random.ts";
import { ProtocolViolation, type ViolationKind } from "./errors.ts";
import {
  answerMetadataRequest,
  encodeMetadataMessage,
  MetadataFetcher,
  metadataPieceBytes,
  metadataPieceCount,
  parseMetadataMessage,
  type MetadataMessage,
} from "./metadata.ts";

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => String.fromCharCode(...b);

function kindOf(fn: () => unknown): ViolationKind | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.kind;
    throw err;
  }
}

describe("ut_metadata messages (BEP 9)", () => {
  // The three examples of BEP 9, written by hand.
  it("encodes the BEP 9 request, data and reject examples byte for byte", () => {
    expect(text(encodeMetadataMessage({ type: "request", piece: 0 }))).toBe("d8:msg_typei0e5:piecei0ee");
    expect(text(encodeMetadataMessage({ type: "reject", piece: 0 }))).toBe("d8:msg_typei2e5:piecei0ee");
    const data = new Uint8Array(16384).fill(0x41);
    const wire = encodeMetadataMessage({ type: "data", piece: 0, totalSize: 34256, data });
    expect(text(wire.subarray(0, 45))).toBe("d8:msg_typei1e5:piecei0e10:total_sizei34256ee");
    expect(toHex(wire.subarray(45))).toBe(toHex(data));
  });

  it("decodes the BEP 9 examples", () => {
    expect(parseMetadataMessage(ascii("d8:msg_typei0e5:piecei0ee"))).toEqual({ type: "request", piece: 0 });
    expect(parseMetadataMessage(ascii("d8:msg_typei2e5:piecei0ee"))).toEqual({ type: "reject", piece: 0 });
    const tail = new Uint8Array(34256 - 2 * 16384).fill(7); // the last of 3 pieces
    expect(parseMetadataMessage(concatBytes([ascii("d8:msg_typei1e5:piecei2e10:total_sizei34256ee"), tail]))).toEqual({
      type: "data",
      piece: 2,
      totalSize: 34256,
      data: tail,
    });
  });

  it("round-trips any valid message", () => {
    const message: fc.Arbitrary<MetadataMessage> = fc.oneof(
      fc.nat({ max: 1023 }).map((piece): MetadataMessage => ({ type: "request", piece })),
      fc.nat({ max: 1023 }).map((piece): MetadataMessage => ({ type: "reject", piece })),
      fc.integer({ min: 1, max: 200_000 }).chain((totalSize) =>
        fc.nat({ max: metadataPieceCount(totalSize) - 1 }).map((piece): MetadataMessage => {
          const length = Math.min(metadataPieceBytes, totalSize - piece * metadataPieceBytes);
          return { type: "data", piece, totalSize, data: seededRandom(totalSize).bytes(length) };
        }),
      ),
    );
    fc.assert(
      fc.property(message, (m) => {
        expect(parseMetadataMessage(encodeMetadataMessage(m))).toEqual(m);
      }),
    );
  });

  it("ignores an unknown msg_type (BEP 9)", () => {
    expect(parseMetadataMessage(ascii("d8:msg_typei3e5:piecei0ee"))).toBeNull();
  });

  const malformed: readonly [string, Uint8Array, ViolationKind][] = [
    ["not bencode", ascii("d8:msg_type"), "malformed-bencode"],
    ["unsorted keys", ascii("d5:piecei0e8:msg_typei0ee"), "malformed-bencode"],
    ["a list", ascii("li0ei0ee"), "bad-metadata-message"],
    ["msg_type as a string", ascii("d8:msg_type1:05:piecei0ee"), "bad-metadata-message"],
    ["negative piece", ascii("d8:msg_typei0e5:piecei-1ee"), "bad-metadata-message"],
    ["piece beyond any 16 MiB info dict", ascii("d8:msg_typei0e5:piecei1024ee"), "bad-metadata-message"],
    ["bytes after a request", ascii("d8:msg_typei0e5:piecei0eexx"), "bad-metadata-message"],
    ["data without total_size", concatBytes([ascii("d8:msg_typei1e5:piecei0ee"), new Uint8Array(10)]), "bad-metadata-message"],
    ["data of total_size above 16 MiB", ascii("d8:msg_typei1e5:piecei0e10:total_sizei16777217ee"), "metadata-too-large"],
    ["data piece beyond total_size", concatBytes([ascii("d8:msg_typei1e5:piecei1e10:total_sizei100ee"), new Uint8Array(100)]), "bad-metadata-message"],
    ["data shorter than its piece", concatBytes([ascii("d8:msg_typei1e5:piecei0e10:total_sizei20000ee"), new Uint8Array(100)]), "bad-metadata-message"],
    ["data longer than 16 KiB", concatBytes([ascii("d8:msg_typei1e5:piecei0e10:total_sizei40000ee"), new Uint8Array(16385)]), "bad-metadata-message"],
  ];
  for (const [name, payload, kind] of malformed) {
    it(`rejects ${name} with ${kind}`, () => expect(kindOf(() => parseMetadataMessage(payload))).toBe(kind));
  }
});

describe("answerMetadataRequest (serving side)", () => {
  it("serves 16 KiB pieces of our info dict and rejects what it cannot serve", () => {
    const info = seededRandom(1).bytes(20_000);
    expect(answerMetadataRequest(info, 1)).toEqual({ type: "data", piece: 1, totalSize: 20_000, data: info.subarray(16384) });
    expect(answerMetadataRequest(info, 2)).toEqual({ type: "reject", piece: 2 });
    expect(answerMetadataRequest(null, 0)).toEqual({ type: "reject", piece: 0 });
  });
});

describe("MetadataFetcher", () => {
  async function setup(size: number, seed = 1): Promise<{ info: Uint8Array; fetcher: MetadataFetcher }> {
    const info = seededRandom(seed).bytes(size);
    const infoHash = infoHashFromBytes(await sha1(info));
    return { info, fetcher: new MetadataFetcher({ infoHash, requestTimeoutMs: 5_000, maxRequestsPerPeer: 2 }) };
  }
  const serve = (info: Uint8Array, piece: number): Uint8Array => info.subarray(piece * metadataPieceBytes, (piece + 1) * metadataPieceBytes);

  it("spreads requests over several peers and assembles a verified info dict", async () => {
    const { info, fetcher } = await setup(5 * 16384 + 100);
    for (const p of ["a", "b", "c"]) expect(fetcher.addPeer(p, info.length)).toBe(true);
    const first = fetcher.nextRequests(0);
    expect(new Set(first.map((r) => r.peer))).toEqual(new Set(["a", "b", "c"]));
    expect(first.map((r) => r.piece).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    let result = "";
    for (const r of first) result = fetcher.onData(r.peer, r.piece, info.length, serve(info, r.piece));
    expect(result).toBe("complete");
    const verified = await fetcher.verify();
    expect(verified.ok).toBe(true);
    expect(toHex(fetcher.infoBytes!)).toBe(toHex(info));
  });

  it("re-requests rejected and timed-out pieces from other peers", async () => {
    const { info, fetcher } = await setup(3 * 16384);
    fetcher.addPeer("slow", info.length);
    fetcher.addPeer("rejecter", info.length);
    fetcher.addPeer("good", info.length);
    const first = fetcher.nextRequests(0);
    for (const r of first) {
      if (r.peer === "rejecter") fetcher.onReject("rejecter", r.piece, 0);
      if (r.peer === "good") fetcher.onData("good", r.piece, info.length, serve(info, r.piece));
    }
    fetcher.tick(5_000); // the slow peer's requests time out
    const second = fetcher.nextRequests(5_000);
    const handled = new Set(first.filter((r) => r.peer !== "good").map((r) => r.piece));
    expect(new Set(second.map((r) => r.piece))).toEqual(handled);
    for (const r of second) {
      expect(["good", "slow", "rejecter"]).toContain(r.peer);
      // Nobody is asked again for a piece it just failed.
      expect(first.some((f) => f.peer === r.peer && f.piece === r.piece)).toBe(false);
    }
    for (const r of second) fetcher.onData(r.peer, r.piece, info.length, serve(info, r.piece));
    // A late answer to a timed-out request is ignored, not double counted.
    const late = first.find((r) => r.peer === "slow")!;
    expect(fetcher.onData("slow", late.piece, info.length, serve(info, late.piece))).toBe("unrequested");
    expect(fetcher.receivedPieces).toBe(3);
    expect((await fetcher.verify()).ok).toBe(true);
  });

  it("discards metadata that fails the infohash check, drops its sources and fetches again", async () => {
    const { info, fetcher } = await setup(2 * 16384);
    fetcher.addPeer("liar", info.length);
    let requests = fetcher.nextRequests(0);
    expect(requests).toHaveLength(2);
    for (const r of requests) fetcher.onData(r.peer, r.piece, info.length, new Uint8Array(16384).fill(9));
    const bad = await fetcher.verify();
    expect(bad).toEqual({ ok: false, contributors: ["liar"], liar: "liar" });
    expect(fetcher.addPeer("liar", info.length)).toBe(false);
    fetcher.addPeer("honest", info.length);
    requests = fetcher.nextRequests(10);
    expect(requests.map((r) => r.peer)).toEqual(["honest", "honest"]);
    for (const r of requests) fetcher.onData(r.peer, r.piece, info.length, serve(info, r.piece));
    expect(await fetcher.verify()).toEqual({ ok: true, infoBytes: info, liars: [] });
  });

  it("fetches the size most peers announce and falls back when that one fails", async () => {
    const { info, fetcher } = await setup(16384 + 5);
    fetcher.addPeer("x1", 999);
    fetcher.addPeer("x2", 999);
    fetcher.addPeer("good", info.length);
    const sizes: number[] = [];
    const sources: string[] = [];
    for (let round = 0; round < 5 && fetcher.infoBytes === null; round++) {
      const requests = fetcher.nextRequests(round);
      sizes.push(fetcher.metadataSize!);
      for (const r of requests) {
        sources.push(r.peer);
        const data = r.peer === "good" ? serve(info, r.piece) : new Uint8Array(999);
        fetcher.onData(r.peer, r.piece, r.peer === "good" ? info.length : 999, data);
      }
      await fetcher.verify();
    }
    // Two peers vote 999: it is tried first (once per liar, each dropped after failing), then the size of the third.
    expect(sizes).toEqual([999, 999, info.length]);
    expect(sources).toEqual(["x1", "x2", "good", "good"]);
    expect(toHex(fetcher.infoBytes!)).toBe(toHex(info));
  });

  it("a liar among several sources: no honest peer is dropped, one-source attempts name the liar, the honest dict is verified", async () => {
    const { info, fetcher } = await setup(4 * 16384);
    fetcher.addPeer("liar", info.length);
    fetcher.addPeer("honest", info.length);
    const answer = (requests: readonly { peer: string; piece: number }[]): void => {
      for (const r of requests) fetcher.onData(r.peer, r.piece, info.length, r.peer === "liar" ? new Uint8Array(16384).fill(7) : serve(info, r.piece));
    };
    const mixed = fetcher.nextRequests(0);
    expect(new Set(mixed.map((r) => r.peer))).toEqual(new Set(["liar", "honest"]));
    answer(mixed);
    expect(await fetcher.verify()).toEqual({ ok: false, contributors: expect.arrayContaining(["liar", "honest"]) as unknown, liar: null });
    // One source per attempt now: the first peer gives every piece, fails alone, and is named.
    let requests: { peer: string; piece: number }[] = [];
    for (let t = 1; t < 4 && fetcher.receivedPieces < 4; t++) {
      const batch = fetcher.nextRequests(t);
      requests = requests.concat(batch);
      answer(batch);
    }
    expect(new Set(requests.map((r) => r.peer))).toEqual(new Set(["liar"]));
    expect(await fetcher.verify()).toEqual({ ok: false, contributors: ["liar"], liar: "liar" });
    expect(fetcher.addPeer("liar", info.length)).toBe(false);
    for (let t = 4; t < 8 && fetcher.infoBytes === null; t++) {
      const batch = fetcher.nextRequests(t);
      expect(batch.every((r) => r.peer === "honest")).toBe(true);
      answer(batch);
      if (fetcher.receivedPieces === 4) expect(await fetcher.verify()).toMatchObject({ ok: true, liars: ["liar"] });
    }
    expect(toHex(fetcher.infoBytes!)).toBe(toHex(info));
  });

  it("once the true dict is verified, the senders of differing pieces in a failed mixed attempt are named", async () => {
    const { info, fetcher } = await setup(4 * 16384);
    for (const p of ["honest1", "liar", "honest2"]) fetcher.addPeer(p, info.length);
    for (const r of fetcher.nextRequests(0)) fetcher.onData(r.peer, r.piece, info.length, r.peer === "liar" ? new Uint8Array(16384).fill(1) : serve(info, r.piece));
    expect(await fetcher.verify()).toMatchObject({ ok: false, liar: null });
    // The next attempt asks honest1 alone (the first peer), which gives the true dict.
    for (let t = 1; t < 4 && fetcher.receivedPieces < 4; t++) {
      for (const r of fetcher.nextRequests(t)) {
        expect(r.peer).toBe("honest1");
        fetcher.onData(r.peer, r.piece, info.length, serve(info, r.piece));
      }
    }
    expect(await fetcher.verify()).toEqual({ ok: true, infoBytes: info, liars: ["liar"] });
  });

  it("a one-source attempt whose peer leaves starts over with another peer", async () => {
    const { info, fetcher } = await setup(3 * 16384);
    fetcher.addPeer("a", info.length);
    fetcher.addPeer("b", info.length);
    for (const r of fetcher.nextRequests(0)) fetcher.onData(r.peer, r.piece, info.length, r.peer === "a" ? new Uint8Array(16384) : serve(info, r.piece));
    expect((await fetcher.verify()).ok).toBe(false);
    const solo = fetcher.nextRequests(1);
    expect(new Set(solo.map((r) => r.peer))).toEqual(new Set(["a"]));
    fetcher.removePeer("a");
    const rest: { peer: string; piece: number }[] = [];
    for (let t = 2; t < 5 && fetcher.receivedPieces < 3; t++) {
      const batch = fetcher.nextRequests(t);
      rest.push(...batch);
      for (const r of batch) fetcher.onData(r.peer, r.piece, info.length, serve(info, r.piece));
    }
    expect(rest.map((r) => r.piece).sort()).toEqual([0, 1, 2]);
    expect(new Set(rest.map((r) => r.peer))).toEqual(new Set(["b"]));
    expect((await fetcher.verify()).ok).toBe(true);
  });

  it("refuses sizes over the 16 MiB bound and data of another size", async () => {
    const { info, fetcher } = await setup(100);
    expect(fetcher.addPeer("huge", 16 * 1024 * 1024 + 1)).toBe(false);
    expect(fetcher.addPeer("zero", 0)).toBe(false);
    fetcher.addPeer("p", info.length);
    const [r] = fetcher.nextRequests(0);
    expect(fetcher.onData("p", r!.piece, 101, new Uint8Array(101))).toBe("size-mismatch");
    expect(fetcher.nextRequests(1)).toEqual([]); // the peer was dropped
  });

  it("hands a departed peer's pieces to others", async () => {
    const { info, fetcher } = await setup(4 * 16384);
    fetcher.addPeer("a", info.length);
    fetcher.addPeer("b", info.length);
    const first = fetcher.nextRequests(0);
    fetcher.removePeer("a");
    const again = fetcher.nextRequests(1);
    expect(again.map((r) => r.peer)).toEqual([]); // b is at its limit of 2
    for (const r of first.filter((x) => x.peer === "b")) fetcher.onData("b", r.piece, info.length, serve(info, r.piece));
    const next = fetcher.nextRequests(2);
    expect(next.map((r) => r.piece).sort()).toEqual(first.filter((x) => x.peer === "a").map((x) => x.piece).sort());
  });
});
