// Simulator tests: small swarms, fixed seeds. The byte-level test runs full
// TorrentSessions and checks every stored byte; the flow-level tests run the
// same engine at message level and check what the README reports.
import { describe, expect, it } from "vitest";
import { runByteSwarm } from "./byte-sim.ts";
import { runSwarm, waterLevel } from "./swarm-sim.ts";

const KiB = 1024;

describe("byte-level swarm (full TorrentSessions)", () => {
  it("every downloader, including a magnet joiner and a free-rider, stores every byte of a multi-file torrent", async () => {
    const r = await runByteSwarm({
      seed: 5,
      seedUploadBytesPerS: 256 * KiB,
      peers: [
        { uploadBytesPerS: 256 * KiB, downloadBytesPerS: 1024 * KiB },
        { uploadBytesPerS: 128 * KiB, downloadBytesPerS: 512 * KiB },
        { uploadBytesPerS: 512 * KiB, downloadBytesPerS: 2048 * KiB, magnet: true },
        { uploadBytesPerS: 64 * KiB, downloadBytesPerS: 512 * KiB },
        { uploadBytesPerS: 0, downloadBytesPerS: 1024 * KiB, freeRider: true },
      ],
      files: [
        { path: ["show", "episode-1.bin"], bytes: 300 * KiB + 17 },
        { path: ["show", "notes.txt"], bytes: 3000 },
        { path: ["show", "extras", "episode-2.bin"], bytes: 420 * KiB },
      ],
      pieceLength: 32 * KiB,
      latencyMs: 40,
      stepMs: 20,
      maxSimS: 120,
    });
    expect(r.completedS.every((t) => t !== null)).toBe(true);
    expect(r.byteExact).toEqual([true, true, true, true, true]);
    expect(r.events[2]!.some((e) => e.type === "metadata")).toBe(true);
    expect(r.info.pieceCount).toBe(23);
  }, 60_000);
});

describe("flow model: max-min sharing of a link's two ends", () => {
  it("a demand below the fair share keeps it, the others split what it leaves", () => {
    // A receiver with 150 KB/s of download and three senders offering 10, 100 and 100:
    // the slow sender keeps its 10, the two others get 70 each (not 50 each).
    expect(waterLevel(Float64Array.of(100, 10, 100), 3, 150)).toBe(70);
    // Everything fits: no level.
    expect(waterLevel(Float64Array.of(10, 20), 2, 150)).toBe(Infinity);
    // Unlimited demands share equally.
    expect(waterLevel(Float64Array.of(Infinity, Infinity, Infinity, Infinity), 4, 100)).toBe(25);
  });
});

describe("flow-level swarm (TorrentEngine per peer)", () => {
  it("a flash crowd finishes, never beats the fluid bound, and replays exactly from its seed", () => {
    const a = runSwarm({ peers: 40, pieces: 80, seed: 7 });
    expect(a.allCompleted).toBe(true);
    expect(a.ratio).toBeGreaterThanOrEqual(1);
    expect(a.ratio).toBeLessThan(2);
    const b = runSwarm({ peers: 40, pieces: 80, seed: 7 });
    expect(b.distributionTimeS).toBe(a.distributionTimeS);
    expect(b.blocksDelivered).toBe(a.blocksDelivered);
    const c = runSwarm({ peers: 40, pieces: 80, seed: 8 });
    expect(c.blocksDelivered).not.toBe(a.blocksDelivered);
  });

  it("heterogeneous capacities (heavy-tailed) and Poisson arrivals with departures still all finish", () => {
    const het = runSwarm({ peers: 40, pieces: 80, seed: 3, capacity: "heavy-tailed" });
    expect(het.allCompleted).toBe(true);
    expect(het.ratio).toBeGreaterThanOrEqual(1);
    const poisson = runSwarm({ peers: 30, pieces: 60, seed: 4, arrivals: "poisson", arrivalRatePerS: 2, departure: "leave" });
    expect(poisson.allCompleted).toBe(true);
  });

  it("the seed leaves once the downloaders hold a full copy, and everyone still finishes", () => {
    const r = runSwarm({ peers: 40, pieces: 80, seed: 11, seedLeavesAfterFullCopy: true });
    expect(r.seedLeftAtS).not.toBeNull();
    expect(r.seedLeftAtS!).toBeLessThan(r.distributionTimeS);
    expect(r.allCompleted).toBe(true);
    // After the seed left, every piece always had at least one copy among downloaders.
    expect(Math.min(...r.samples.filter((s) => s.t > r.seedLeftAtS!).map((s) => s.minCopies))).toBeGreaterThanOrEqual(1);
  });

  it("block round-robin uploads finish and never beat the fluid bound when downloads are the bottleneck", () => {
    // Downloads as slow as uploads and a fast seed: the slowest download sets the bound, so a
    // link that ignored its receiver's downlink would finish early (ratio below 1).
    const base = { peers: 30, pieces: 60, seed: 5, capacity: "heavy-tailed", downloadToUploadRatio: 1, seedUploadBytesPerS: 4096 * KiB } as const;
    const r = runSwarm({ ...base, uploadScheduling: "block-round-robin" });
    expect(r.allCompleted).toBe(true);
    expect(r.ratio).toBeGreaterThanOrEqual(1);
    // The option changes the run (it is not ignored): the shared default finishes at another time.
    const shared = runSwarm(base);
    expect(shared.allCompleted).toBe(true);
    expect(r.distributionTimeS).not.toBe(shared.distributionTimeS);
  });

  it("rarest first puts a full copy into the swarm sooner than random picking when the seed is slow", () => {
    // A plain seed (no super-seeding): with super-seeding the seed itself decides which pieces go out first.
    const base = { peers: 40, pieces: 120, seedUploadBytesPerS: 32 * KiB, seedLeavesAfterFullCopy: true, engine: { superSeeding: "off" } } as const;
    let rarestSooner = 0;
    for (const seed of [1, 2, 3]) {
      const rarest = runSwarm({ ...base, seed, pieceSelection: "rarest-first" });
      const random = runSwarm({ ...base, seed, pieceSelection: "random" });
      expect(rarest.allCompleted && random.allCompleted).toBe(true);
      if (rarest.seedLeftAtS! < random.seedLeftAtS!) rarestSooner++;
    }
    expect(rarestSooner).toBeGreaterThanOrEqual(2);
  });

  it("free-riders finish clearly later than contributors with the choker, in every run; without it the difference vanishes", () => {
    // 40 downloaders x 400 pieces, 20% never upload, everyone leaves on completion.
    const base = { peers: 40, pieces: 400, freeRiderFraction: 0.2, departure: "leave" } as const;
    for (const seed of [1, 2, 3]) {
      const withChoker = runSwarm({ ...base, seed });
      const without = runSwarm({ ...base, seed, choker: false });
      expect(withChoker.allCompleted && without.allCompleted).toBe(true);
      const ratio = (r: typeof withChoker): number => r.meanCompletionFreeRidersS! / r.meanCompletionContributorsS;
      expect(ratio(withChoker), `seed ${seed} with the choker`).toBeGreaterThanOrEqual(1.3);
      expect(ratio(without), `seed ${seed} without the choker`).toBeLessThanOrEqual(1.15);
    }
  }, 120_000);
});

describe("upload census (why uplinks are idle)", () => {
  it("puts every downloader in one class, starts with nothing to offer, and leaves the run unchanged", () => {
    const config = { peers: 40, pieces: 60, seed: 3, sampleEveryS: 0.5 };
    const plain = runSwarm(config);
    const observed = runSwarm({ ...config, idleCensusUntilS: 4 });
    // Observing reads no rate meter and changes no state: the same run, step for step.
    expect(observed.distributionTimeS).toBe(plain.distributionTimeS);
    expect(observed.samples.map((s) => s.uploadedBytes)).toEqual(plain.samples.map((s) => s.uploadedBytes));
    const censused = observed.samples.filter((s) => s.census !== undefined);
    expect(censused.map((s) => s.t)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
    for (const s of censused) {
      const total = Object.values(s.census!).reduce((a, b) => a + b, 0);
      expect(total).toBe(s.present - 1); // the initial seed is not a downloader
    }
    expect(censused[0]!.census!.nothingToOffer).toBe(config.peers);
    expect(Math.max(...censused.map((s) => s.census!.sending))).toBeGreaterThan(10);
  });
});
