// The engine's reciprocation rule (choker.ts neverReciprocated): a leecher
// stops uploading to a peer that took `unreciprocatedAfterBytes` and never
// sent anything back although it had pieces we wanted.
import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { Bitfield } from "../wire/bitfield.ts";
import { TorrentEngine } from "./engine.ts";
import { connectionId } from "./session-types.ts";
import { resolveSettings } from "./settings.ts";

describe("a leecher and a peer that never reciprocates", () => {
  it("chokes it as soon as it took unreciprocatedAfterBytes although it had pieces we wanted", () => {
    const clock = { t: 0, nowMs: () => clock.t };
    const have = new Bitfield(8);
    for (const i of [0, 1, 2, 3]) have.set(i);
    const engine = new TorrentEngine({
      shape: { pieceCount: 8, pieceLength: 16384, totalLength: 8 * 16384 },
      settings: resolveSettings({ unreciprocatedAfterBytes: 64 * 1024 }),
      clock,
      random: seededRandom(5),
      verified: have,
    });
    const rider = connectionId("rider");
    engine.addPeer(rider, true);
    const peerHas = new Bitfield(8);
    for (const i of [4, 5]) peerHas.set(i);
    engine.handle(rider, { type: "bitfield", bits: peerHas.toBytes() }); // it has pieces we want: we are interested
    engine.handle(rider, { type: "interested" });
    expect(engine.peerInfo(rider)?.amChoking).toBe(false); // a free slot, as a new peer
    clock.t = 15_000; // past the reciprocation grace
    engine.out.length = 0;
    engine.uploaded(rider, 32 * 1024);
    expect(engine.peerInfo(rider)?.amChoking).toBe(false);
    engine.uploaded(rider, 32 * 1024); // 64 KiB, nothing ever received from it
    expect(engine.peerInfo(rider)?.amChoking).toBe(true);
    expect(engine.out.some((o) => o.kind === "send" && o.message.type === "choke")).toBe(true);
  });
});
