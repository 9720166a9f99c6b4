// Fuzz of the wire decoder and of PeerConnection's input side (issue 9): a
// bounded number of seeded cases of random bytes and of valid streams mutated
// (bit flips, forged length prefixes, inserted / deleted / duplicated runs,
// truncation), fed in random chunks. Replay one case with
// WIRE_FUZZ_SEED=<seed printed in the failure>.
import { describe, expect, it } from "vitest";
import { concatBytes, utf8 } from "../bytes.ts";
import { encode as bencode } from "../bencode.ts";
import { infoHashFromBytes, makePeerId } from "../ids.ts";
import { seededRandom, type Random } from "../random.ts";
import { defaultMaxFrameBytes, encodeHandshake, encodeMessage, FrameDecoder, handshakeBytes, makeHandshake, type DecodedFrame } from "./codec.ts";
import { ProtocolViolation } from "./errors.ts";
import type { WireMessage } from "./messages.ts";
import { PeerConnection } from "./peer-connection.ts";
import { ManualClock, rechunk } from "./test-pipe.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
const only = env.WIRE_FUZZ_SEED === undefined ? null : Number(env.WIRE_FUZZ_SEED);
const DECODER_CASES = 2000;
const CONNECTION_CASES = 1000;
const seedsFor = (base: number, n: number): number[] => (only !== null ? [only] : Array.from({ length: n }, (_, i) => base + i));

const pieceCount = 37;
const pieceLength = 32 * 1024;
const totalLength = 36 * pieceLength + 5000;

function randomMessage(r: Random, plausible: boolean): WireMessage {
  const idx = (): number => (plausible ? r.int(pieceCount + 2) : r.int(2) === 0 ? r.int(0x100000000) : r.int(64));
  const begin = (): number => (plausible ? 16384 * r.int(3) : r.int(0x100000000));
  const len = (): number => (plausible ? [16384, 1, 0, 16385, 131072][r.int(5)]! : r.int(0x100000000));
  switch (r.int(16)) {
    case 0:
      return { type: "keep-alive" };
    case 1:
      return { type: "choke" };
    case 2:
      return { type: "unchoke" };
    case 3:
      return { type: "interested" };
    case 4:
      return { type: "not-interested" };
    case 5:
      return { type: "have", index: idx() };
    case 6:
      return { type: "bitfield", bits: r.bytes(plausible ? 5 : r.int(300)) };
    case 7:
      return { type: "request", index: idx(), begin: begin(), length: len() };
    case 8:
      return { type: "piece", index: idx(), begin: begin(), block: r.bytes(r.int(2) === 0 ? 16384 : r.int(3000)) };
    case 9:
      return { type: "cancel", index: idx(), begin: begin(), length: len() };
    case 10:
      return { type: "have-all" };
    case 11:
      return { type: "have-none" };
    case 12:
      return { type: "reject", index: idx(), begin: begin(), length: len() };
    case 13:
      return { type: "allowed-fast", index: idx() };
    case 14:
      return { type: "suggest", index: idx() };
    default: {
      // BEP 10: a handshake dict, a ut_metadata message, or junk payload.
      const kind = r.int(3);
      const payload =
        kind === 0
          ? bencode({ m: { ut_metadata: 1 + r.int(3) }, metadata_size: r.int(2) === 0 ? 400 : r.int(0x7fffffff), v: utf8("fuzz"), reqq: r.int(1000) })
          : kind === 1
            ? concatBytes([bencode({ msg_type: r.int(4), piece: r.int(5), total_size: r.int(100_000) }), r.bytes(r.int(100))])
            : r.bytes(r.int(400));
      return { type: "extended", id: r.int(4), payload };
    }
  }
}

/** A valid stream (handshake + messages) with 0..4 seeded mutations; returns the bytes and what was done. */
function mutatedStream(r: Random, header: Uint8Array, plausible: boolean): { bytes: Uint8Array; mutations: string[] } {
  const parts = [header];
  for (let n = r.int(40); n > 0; n--) parts.push(encodeMessage(randomMessage(r, plausible)));
  let bytes = concatBytes(parts);
  const mutations: string[] = [];
  for (let m = r.int(5); m > 0; m--) {
    const at = r.int(bytes.length + 1);
    switch (r.int(6)) {
      case 0: {
        const copy = bytes.slice();
        if (copy.length > 0) copy[Math.min(at, copy.length - 1)]! ^= 1 << r.int(8);
        bytes = copy;
        mutations.push(`flip@${at}`);
        break;
      }
      case 1: {
        // A forged length prefix: huge, zero, off by one, or just over the bound.
        const value = [0xffffffff, 0, defaultMaxFrameBytes + 1, r.int(64), 1 << 30][r.int(5)]!;
        const copy = bytes.slice();
        if (copy.length >= at + 4) new DataView(copy.buffer).setUint32(at, value);
        bytes = copy;
        mutations.push(`len@${at}=${value}`);
        break;
      }
      case 2:
        bytes = concatBytes([bytes.subarray(0, at), r.bytes(1 + r.int(50)), bytes.subarray(at)]);
        mutations.push(`insert@${at}`);
        break;
      case 3: {
        const n = 1 + r.int(30);
        bytes = concatBytes([bytes.subarray(0, at), bytes.subarray(at + n)]);
        mutations.push(`delete@${at}+${n}`);
        break;
      }
      case 4:
        bytes = bytes.slice(0, at);
        mutations.push(`truncate@${at}`);
        break;
      default: {
        const n = 1 + r.int(200);
        bytes = concatBytes([bytes.subarray(0, at), bytes.subarray(at, at + n), bytes.subarray(at)]);
        mutations.push(`dup@${at}+${n}`);
        break;
      }
    }
  }
  return { bytes, mutations };
}

function frameBytes(f: DecodedFrame): number {
  if (f.kind === "handshake") return handshakeBytes;
  if (f.kind === "unknown") return 5 + f.payloadBytes;
  return encodeMessage(f.message).length;
}

describe(`wire decoder fuzz (${only ?? DECODER_CASES} seeded cases)`, () => {
  it("random and mutated frames: only ProtocolViolations (never internal errors), bounded buffering, every byte accounted for", () => {
    const kinds = new Map<string, number>();
    let bytesFed = 0;
    for (const seed of seedsFor(1_000_000, DECODER_CASES)) {
      const r = seededRandom(seed);
      const header = encodeHandshake(makeHandshake({ infoHash: infoHashFromBytes(r.bytes(20)), peerId: makePeerId((n) => r.bytes(n)), extensionProtocol: true, fastExtension: true }));
      const { bytes, mutations } = r.int(10) === 0 ? { bytes: r.bytes(r.int(5000)), mutations: ["random"] } : mutatedStream(r, header, r.int(2) === 0);
      const ctx = `seed ${seed} (WIRE_FUZZ_SEED=${seed}), ${mutations.join(" ") || "no mutation"}`;
      const decoder = new FrameDecoder();
      let consumed = 0;
      let failure: ProtocolViolation | null = null;
      for (const chunk of rechunk(bytes, r)) {
        bytesFed += chunk.length;
        try {
          for (const f of decoder.push(chunk)) consumed += frameBytes(f);
        } catch (err) {
          if (!(err instanceof ProtocolViolation)) throw new Error(`${ctx}: threw ${String(err)}`);
          if (err.kind === "internal-error") throw new Error(`${ctx}: internal error ${err.message}`);
          failure = err;
          break;
        }
        expect(decoder.bufferedBytes, ctx).toBeLessThanOrEqual(defaultMaxFrameBytes + 4);
      }
      if (failure !== null) {
        kinds.set(failure.kind, (kinds.get(failure.kind) ?? 0) + 1);
        // Failed stays failed, with the same error.
        expect(() => decoder.push(Uint8Array.of(0)), ctx).toThrow(failure);
      } else {
        kinds.set("decoded", (kinds.get("decoded") ?? 0) + 1);
        // bufferedBytes does not count a length prefix already read whose body has not started (0 or 4 bytes unaccounted).
        expect([0, 4], ctx).toContain(bytes.length - consumed - decoder.bufferedBytes);
        if (mutations.length === 0) expect(consumed, ctx).toBe(bytes.length);
      }
    }
    if (only === null) {
      // The generator reaches both outcomes and several violation kinds.
      expect(kinds.get("decoded") ?? 0).toBeGreaterThan(DECODER_CASES / 10);
      expect([...kinds.keys()].filter((k) => k !== "decoded").length).toBeGreaterThanOrEqual(3);
    }
    console.log(`[reliability] wire decoder fuzz: ${only === null ? DECODER_CASES : 1} cases, ${bytesFed} bytes, outcomes ${JSON.stringify(Object.fromEntries(kinds))}`);
  });
});

describe(`PeerConnection input fuzz (${only ?? CONNECTION_CASES} seeded cases)`, () => {
  it("never throws, never reports an internal error, and is silent once it has reported a violation", () => {
    const kinds = new Map<string, number>();
    for (const seed of seedsFor(2_000_000, CONNECTION_CASES)) {
      const r = seededRandom(seed);
      const infoHash = infoHashFromBytes(r.bytes(20));
      const clock = new ManualClock(0);
      const pc = new PeerConnection({ infoHash, localPeerId: makePeerId((n) => r.bytes(n)), direction: r.int(2) === 0 ? "inbound" : "outbound" }, clock);
      if (pc.handshakeSent === false && r.int(2) === 0) pc.sendHandshake();
      const early = r.int(2) === 0;
      if (early) pc.setTorrentShape({ pieceCount, pieceLength, totalLength });
      const header = encodeHandshake(makeHandshake({ infoHash: r.int(20) === 0 ? infoHashFromBytes(r.bytes(20)) : infoHash, peerId: makePeerId((n) => r.bytes(n)), extensionProtocol: r.int(4) !== 0, fastExtension: r.int(4) !== 0 }));
      const { bytes, mutations } = r.int(10) === 0 ? { bytes: r.bytes(r.int(3000)), mutations: ["random"] } : mutatedStream(r, header, true);
      const ctx = `seed ${seed} (WIRE_FUZZ_SEED=${seed}), ${mutations.join(" ") || "no mutation"}`;
      let violated = false;
      const chunks = rechunk(bytes, r);
      for (let i = 0; i < chunks.length; i++) {
        let events;
        try {
          events = pc.receive(chunks[i]!);
          if (!early && i === chunks.length >> 1) events.push(...pc.setTorrentShape({ pieceCount, pieceLength, totalLength }));
          clock.advance(r.int(2000));
          events.push(...pc.tick());
          while (pc.takeOutgoing() !== null);
        } catch (err) {
          throw new Error(`${ctx}: threw ${String(err)}`);
        }
        if (violated) expect(events, ctx).toEqual([]);
        for (const ev of events) {
          if (ev.type !== "violation") continue;
          expect(ev.error.kind, `${ctx}: ${ev.error.message}`).not.toBe("internal-error");
          expect(violated, ctx).toBe(false);
          violated = true;
          kinds.set(ev.error.kind, (kinds.get(ev.error.kind) ?? 0) + 1);
        }
      }
      if (violated) expect(pc.closed, ctx).toBe(true);
      else kinds.set("survived", (kinds.get("survived") ?? 0) + 1);
    }
    if (only === null) expect(kinds.size).toBeGreaterThanOrEqual(6);
    console.log(`[reliability] PeerConnection fuzz: ${only === null ? CONNECTION_CASES : 1} cases, outcomes ${JSON.stringify(Object.fromEntries(kinds))}`);
  });
});
