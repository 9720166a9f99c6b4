import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { concatBytes, fromHex, toHex } from "../bytes.ts";
import { infoHashFromHex, peerIdFromHex } from "../ids.ts";
import { seededRandom } from "../random.ts";
import { decodeHandshake, encodeHandshake, encodeMessage, encodePieceHeader, FrameDecoder, makeHandshake, type DecodedFrame } from "./codec.ts";
import { ProtocolViolation, type ViolationKind } from "./errors.ts";
import type { Handshake, WireMessage } from "./messages.ts";

const hex = (s: string): Uint8Array => fromHex(s.replace(/\s+/g, ""))!;
const ascii = (s: string): string => toHex(Uint8Array.from(s, (c) => c.charCodeAt(0)));

const INFO = "0123456789abcdef0123456789abcdef01234567";
const PEER = "2d5344303130302d000102030405060708090a0b";

// Written by hand from BEP 3 / BEP 6 / BEP 10, not produced by our encoder.
const vectors: readonly [string, WireMessage, string][] = [
  ["keep-alive (BEP 3: length 0)", { type: "keep-alive" }, "00000000"],
  ["choke (id 0)", { type: "choke" }, "00000001 00"],
  ["unchoke (id 1)", { type: "unchoke" }, "00000001 01"],
  ["interested (id 2)", { type: "interested" }, "00000001 02"],
  ["not interested (id 3)", { type: "not-interested" }, "00000001 03"],
  ["have 5 (id 4)", { type: "have", index: 5 }, "00000005 04 00000005"],
  ["bitfield ff 80 (id 5)", { type: "bitfield", bits: Uint8Array.of(0xff, 0x80) }, "00000003 05 ff80"],
  ["request 1/16384/16384 (id 6)", { type: "request", index: 1, begin: 16384, length: 16384 }, "0000000d 06 00000001 00004000 00004000"],
  ["piece 2/0 'abc' (id 7)", { type: "piece", index: 2, begin: 0, block: Uint8Array.of(0x61, 0x62, 0x63) }, "0000000c 07 00000002 00000000 616263"],
  ["cancel 1/16384/16384 (id 8)", { type: "cancel", index: 1, begin: 16384, length: 16384 }, "0000000d 08 00000001 00004000 00004000"],
  ["suggest 7 (BEP 6 id 0x0d)", { type: "suggest", index: 7 }, "00000005 0d 00000007"],
  ["have all (BEP 6 id 0x0e)", { type: "have-all" }, "00000001 0e"],
  ["have none (BEP 6 id 0x0f)", { type: "have-none" }, "00000001 0f"],
  ["reject 3/32768/16384 (BEP 6 id 0x10)", { type: "reject", index: 3, begin: 32768, length: 16384 }, "0000000d 10 00000003 00008000 00004000"],
  ["allowed fast 9 (BEP 6 id 0x11)", { type: "allowed-fast", index: 9 }, "00000005 11 00000009"],
  ["extended handshake 'de' (BEP 10 id 20, ext id 0)", { type: "extended", id: 0, payload: Uint8Array.of(0x64, 0x65) }, "00000004 14 00 6465"],
  ["extended ext id 3 (BEP 10)", { type: "extended", id: 3, payload: Uint8Array.of(0x78) }, "00000003 14 03 78"],
  ["big index", { type: "have", index: 0xfffffffe }, "00000005 04 fffffffe"],
];

function messagesOf(frames: DecodedFrame[]): WireMessage[] {
  return frames.flatMap((f) => (f.kind === "message" ? [f.message] : []));
}

function violationKind(fn: () => unknown): ViolationKind | "no error" {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolViolation) return err.kind;
    throw err;
  }
  return "no error";
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const wireMessage: fc.Arbitrary<WireMessage> = fc.oneof(
  fc.constantFrom<WireMessage>(
    { type: "keep-alive" },
    { type: "choke" },
    { type: "unchoke" },
    { type: "interested" },
    { type: "not-interested" },
    { type: "have-all" },
    { type: "have-none" },
  ),
  u32.map((index): WireMessage => ({ type: "have", index })),
  u32.map((index): WireMessage => ({ type: "suggest", index })),
  u32.map((index): WireMessage => ({ type: "allowed-fast", index })),
  bytes(300).map((bits): WireMessage => ({ type: "bitfield", bits })),
  fc.tuple(u32, u32, u32).map(([index, begin, length]): WireMessage => ({ type: "request", index, begin, length })),
  fc.tuple(u32, u32, u32).map(([index, begin, length]): WireMessage => ({ type: "cancel", index, begin, length })),
  fc.tuple(u32, u32, u32).map(([index, begin, length]): WireMessage => ({ type: "reject", index, begin, length })),
  fc.tuple(u32, u32, bytes(2000)).map(([index, begin, block]): WireMessage => ({ type: "piece", index, begin, block })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(500)).map(([id, payload]): WireMessage => ({ type: "extended", id, payload })),
);

const hexId = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(toHex);
const handshake: fc.Arbitrary<Handshake> = fc
  .record({ info: hexId, peer: hexId, ext: fc.boolean(), fast: fc.boolean(), other: fc.uint8Array({ minLength: 8, maxLength: 8 }) })
  .map(({ info, peer, ext, fast, other }) => {
    const reserved = Uint8Array.from(other);
    reserved[5] = ext ? reserved[5]! | 0x10 : reserved[5]! & ~0x10;
    reserved[7] = fast ? reserved[7]! | 0x04 : reserved[7]! & ~0x04;
    return { infoHash: infoHashFromHex(info), peerId: peerIdFromHex(peer), extensionProtocol: ext, fastExtension: fast, reserved };
  });

describe("handshake (BEP 3)", () => {
  it("encodes byte for byte: pstrlen 19, protocol string, reserved with BEP 10 and BEP 6 bits, infohash, peer id", () => {
    const h = makeHandshake({ infoHash: infoHashFromHex(INFO), peerId: peerIdFromHex(PEER), extensionProtocol: true, fastExtension: true });
    const expected = hex("13" + ascii("BitTorrent protocol") + "0000000000100004" + INFO + PEER);
    expect(expected.length).toBe(68);
    expect(toHex(encodeHandshake(h))).toBe(toHex(expected));
    const decoded = decodeHandshake(expected);
    expect(decoded.infoHash).toBe(INFO);
    expect(decoded.peerId).toBe(PEER);
    expect(decoded.extensionProtocol).toBe(true);
    expect(decoded.fastExtension).toBe(true);
  });

  it("reads the flags from the reserved bits only (no bits: no extensions)", () => {
    const plain = decodeHandshake(hex("13" + ascii("BitTorrent protocol") + "0000000000000000" + INFO + PEER));
    expect(plain.extensionProtocol).toBe(false);
    expect(plain.fastExtension).toBe(false);
    const other = decodeHandshake(hex("13" + ascii("BitTorrent protocol") + "8000000000ef00fb" + INFO + PEER));
    expect(other.extensionProtocol).toBe(false);
    expect(other.fastExtension).toBe(false);
    expect(toHex(other.reserved)).toBe("8000000000ef00fb");
  });

  it("round-trips any handshake, keeping unknown reserved bits", () => {
    fc.assert(
      fc.property(handshake, (h) => {
        expect(decodeHandshake(encodeHandshake(h))).toEqual(h);
      }),
    );
  });
});

describe("message codec (BEP 3, BEP 6, BEP 10)", () => {
  for (const [name, message, wire] of vectors) {
    it(`encodes and decodes ${name} byte for byte`, () => {
      expect(toHex(encodeMessage(message))).toBe(toHex(hex(wire)));
      const decoder = new FrameDecoder({ expectHandshake: false });
      expect(messagesOf(decoder.push(hex(wire)))).toEqual([message]);
      expect(decoder.bufferedBytes).toBe(0);
    });
  }

  it("round-trips every message type", () => {
    fc.assert(
      fc.property(wireMessage, (message) => {
        const frames = new FrameDecoder({ expectHandshake: false }).push(encodeMessage(message));
        expect(messagesOf(frames)).toEqual([message]);
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses to encode values that are not uint32", () => {
    expect(() => encodeMessage({ type: "have", index: -1 })).toThrow(RangeError);
    expect(() => encodeMessage({ type: "request", index: 0, begin: 2 ** 32, length: 1 })).toThrow(RangeError);
    expect(() => encodeMessage({ type: "extended", id: 256, payload: new Uint8Array() })).toThrow(RangeError);
  });
});

describe("FrameDecoder", () => {
  it("decodes a handshake then frames, whatever the chunking (random re-chunking property)", () => {
    fc.assert(
      fc.property(handshake, fc.array(wireMessage, { maxLength: 20 }), fc.integer(), (h, messages, seed) => {
        const stream = concatBytes([encodeHandshake(h), ...messages.map(encodeMessage)]);
        const random = seededRandom(seed);
        const decoder = new FrameDecoder();
        const frames: DecodedFrame[] = [];
        for (let pos = 0; pos < stream.length; ) {
          // Chunks from 0 bytes (empty data-channel messages happen) to a few frames long.
          const size = random.next() < 0.3 ? random.int(4) : random.int(3000);
          frames.push(...decoder.push(stream.subarray(pos, pos + size)));
          pos += size;
        }
        expect(frames[0]).toEqual({ kind: "handshake", handshake: h });
        expect(messagesOf(frames.slice(1))).toEqual(messages);
        expect(frames.length).toBe(messages.length + 1);
        expect(decoder.bufferedBytes).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("decodes a 100 KiB frame pushed one byte at a time", () => {
    const block = seededRandom(7).bytes(100 * 1024);
    const wire = encodeMessage({ type: "piece", index: 1, begin: 0, block });
    const decoder = new FrameDecoder({ expectHandshake: false });
    const frames: DecodedFrame[] = [];
    for (let i = 0; i < wire.length; i++) frames.push(...decoder.push(wire.subarray(i, i + 1)));
    expect(messagesOf(frames)).toEqual([{ type: "piece", index: 1, begin: 0, block }]);
  });

  it("decodes a frame whole in one chunk in place, and copies a frame split across chunks", () => {
    const wire = encodeMessage({ type: "piece", index: 0, begin: 0, block: Uint8Array.of(1, 2, 3) });
    const [whole] = new FrameDecoder({ expectHandshake: false }).push(wire);
    const block = whole?.kind === "message" && whole.message.type === "piece" ? whole.message.block : null;
    expect(block).toEqual(Uint8Array.of(1, 2, 3));
    // No copy: the block views the chunk (callers must not change a chunk after pushing it).
    expect(block?.buffer).toBe(wire.buffer);
    const decoder = new FrameDecoder({ expectHandshake: false });
    const first = wire.slice(0, 10);
    const rest = wire.slice(10);
    expect(decoder.push(first)).toEqual([]);
    const [split] = decoder.push(rest);
    first.fill(0);
    rest.fill(0);
    expect(split).toEqual({ kind: "message", message: { type: "piece", index: 0, begin: 0, block: Uint8Array.of(1, 2, 3) } });
  });

  it("encodes a piece header that, followed by the block, is the piece message", () => {
    const block = Uint8Array.of(9, 8, 7, 6);
    const header = encodePieceHeader(5, 16384, block.length);
    expect(header.length).toBe(13);
    expect(concatBytes([header, block])).toEqual(encodeMessage({ type: "piece", index: 5, begin: 16384, block }));
    expect(() => encodePieceHeader(-1, 0, 4)).toThrow(RangeError);
  });

  it("reports unknown message ids (e.g. BEP 5 port) without interpreting them", () => {
    const frames = new FrameDecoder({ expectHandshake: false }).push(hex("00000003 09 1ae1 00000001 02"));
    expect(frames).toEqual([
      { kind: "unknown", id: 9, payloadBytes: 2 },
      { kind: "message", message: { type: "interested" } },
    ]);
  });

  it("rejects a length prefix over the bound at once, before its body arrives", () => {
    const decoder = new FrameDecoder({ expectHandshake: false, maxFrameBytes: 16384 + 9 });
    expect(decoder.push(hex("00004009 07 00000000 00000000"))).toEqual([]); // exactly the bound: accepted, waiting for the block
    const other = new FrameDecoder({ expectHandshake: false, maxFrameBytes: 16384 + 9 });
    expect(violationKind(() => other.push(hex("0000400a")))).toBe("frame-too-large");
    expect(other.bufferedBytes).toBe(0);
    expect(violationKind(() => new FrameDecoder({ expectHandshake: false }).push(hex("ffffffff")))).toBe("frame-too-large");
  });

  it("applies a per-id payload bound as soon as the id arrives (piece over the agreed block size)", () => {
    const maxPayloadBytes = (id: number): number | undefined => (id === 7 ? 8 + 16384 : undefined);
    const ok = new FrameDecoder({ expectHandshake: false, maxPayloadBytes });
    const block = new Uint8Array(16384);
    expect(messagesOf(ok.push(encodeMessage({ type: "piece", index: 0, begin: 0, block })))).toHaveLength(1);
    const over = new FrameDecoder({ expectHandshake: false, maxPayloadBytes });
    expect(violationKind(() => over.push(hex("0000400a 07")))).toBe("frame-too-large");
    expect(over.bufferedBytes).toBe(0);
    // Other ids keep the overall bound only.
    expect(new FrameDecoder({ expectHandshake: false, maxPayloadBytes }).push(hex("00008001 05"))).toEqual([]);
  });

  it("stays failed after a violation", () => {
    const decoder = new FrameDecoder({ expectHandshake: false });
    expect(violationKind(() => decoder.push(hex("00000002 00 00")))).toBe("malformed-message");
    expect(violationKind(() => decoder.push(hex("00000001 01")))).toBe("malformed-message");
  });

  const malformed: readonly [string, string, boolean, ViolationKind][] = [
    ["pstrlen 18", "12" + ascii("BitTorrent protoco"), true, "bad-handshake"],
    ["pstrlen 0x00 (a peer skipping the handshake)", "00000001 02", true, "bad-handshake"],
    ["wrong protocol string", "13" + ascii("BitTorrent Protocol") + "0000000000000000" + INFO + PEER, true, "bad-handshake"],
    ["choke with a payload", "00000002 00 00", false, "malformed-message"],
    ["have_all with a payload", "00000002 0e 00", false, "malformed-message"],
    ["have of 3 bytes", "00000004 04 000001", false, "malformed-message"],
    ["have of 5 bytes", "00000006 04 0000000100", false, "malformed-message"],
    ["request of 8 bytes", "00000009 06 00000001 00000000", false, "malformed-message"],
    ["cancel of 13 bytes", "0000000e 08 00000001 00000000 00004000 00", false, "malformed-message"],
    ["reject of 11 bytes", "0000000c 10 00000001 00000000 000040", false, "malformed-message"],
    ["allowed_fast of 0 bytes", "00000001 11", false, "malformed-message"],
    ["suggest of 2 bytes", "00000003 0d 0001", false, "malformed-message"],
    ["piece shorter than its header", "00000005 07 00000001", false, "malformed-message"],
    ["extended without its extended id", "00000001 14", false, "malformed-message"],
    ["length prefix of 4 GiB", "ffffffff", false, "frame-too-large"],
    ["length prefix one over 128 KiB + 9", "0002000a", false, "frame-too-large"],
  ];
  for (const [name, wire, expectHandshake, kind] of malformed) {
    it(`rejects ${name} with ${kind}`, () => {
      expect(violationKind(() => new FrameDecoder({ expectHandshake }).push(hex(wire)))).toBe(kind);
    });
  }

  it("rejects a fixed-size message of the wrong length before buffering its body", () => {
    const decoder = new FrameDecoder({ expectHandshake: false });
    // A 'have' claiming 100 KiB: refused as soon as its id byte arrives.
    expect(violationKind(() => decoder.push(hex("00019001 04")))).toBe("malformed-message");
  });
});
