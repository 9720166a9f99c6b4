// Simulator inputs (shared/design/algorithms.md, "Realistic simulation inputs"):
// capacity distributions (homogeneous, a few classes, heavy-tailed), arrivals
// (flash crowd or Poisson), departures (leave on completion or seed on),
// free-riders, and switches for the algorithms under test.
import type { FullSettings } from "../core/engine/settings.ts";
import type { Random } from "../core/random.ts";

export type CapacityModel = "homogeneous" | "classes" | "heavy-tailed";

export interface SimConfig {
  /** Downloaders (the initial seed excluded). */
  readonly peers: number;
  readonly pieces: number;
  /** Piece length in bytes (16 KiB: one block per piece, the simulator's default for scale). */
  readonly pieceBytes: number;
  /** Seed of the random generator: a run replays exactly from it. */
  readonly seed: number;
  readonly capacity: CapacityModel;
  /** Mean downloader upload capacity, bytes/s. */
  readonly meanUploadBytesPerS: number;
  /** A downloader's download capacity is this many times its upload capacity. */
  readonly downloadToUploadRatio: number;
  /** The initial seed's upload capacity, bytes/s (null: the mean downloader upload). */
  readonly seedUploadBytesPerS: number | null;
  readonly arrivals: "flash" | "poisson";
  /** Flash crowd: everyone arrives within this many seconds. */
  readonly flashSpreadS: number;
  /** Poisson arrivals: mean arrivals per second. */
  readonly arrivalRatePerS: number;
  /** Leave on completion, or stay and seed. */
  readonly departure: "seed-on" | "leave";
  /** Fraction of downloaders that never upload (never unchoke anyone). */
  readonly freeRiderFraction: number;
  /** False: every interested peer is unchoked (no tit-for-tat). */
  readonly choker: boolean;
  readonly pieceSelection: "rarest-first" | "random";
  /** The initial seed leaves once the downloaders together hold a full copy. */
  readonly seedLeavesAfterFullCopy: boolean;
  /** Peers a newcomer connects to (a tracker announce's numwant). */
  readonly connectTo: number;
  /** A downloader none of whose neighbours has anything it wants re-announces this often, s. */
  readonly reannounceS: number;
  /** Most connections a peer accepts. */
  readonly maxConnections: number;
  /** Per-peer access latency range, ms; a link's one-way latency is the sum of both ends'. */
  readonly latencyMs: readonly [number, number];
  /**
   * How a receiver's download is shared among its active incoming links:
   * "max-min" (TCP-like: a link its sender holds back leaves the rest to the
   * others) or "equal" (each link gets at most download / links; the model
   * before, kept for comparison).
   */
  readonly downlinkSharing: "max-min" | "equal";
  /**
   * How a sender's uplink is shared among its active links: "shared" (each
   * link a fair share at once, as parallel TCP-like flows) or
   * "block-round-robin" (whole blocks, one link after another: the first
   * receiver has its block after one block time instead of k; an experiment,
   * the browser's uploads are shared).
   */
  readonly uploadScheduling: "shared" | "block-round-robin";
  /** Time step of the flow model, ms. */
  readonly stepMs: number;
  /** Engine tick interval per peer, ms. */
  readonly tickMs: number;
  /** Give up after this much virtual time, s. */
  readonly maxSimS: number;
  /** Sample availability every this many virtual seconds. */
  readonly sampleEveryS: number;
  /** Samples up to this virtual time also take an upload census (upload-census.ts; costly), s. 0: none. */
  readonly idleCensusUntilS: number;
  /** Engine settings for every peer (experiments: e.g. { releaseIdleSlots: false }). */
  readonly engine: Partial<FullSettings>;
}

export const KiB = 1024;

export const defaultSimConfig: SimConfig = {
  peers: 100,
  pieces: 200,
  pieceBytes: 16 * KiB,
  seed: 1,
  capacity: "homogeneous",
  meanUploadBytesPerS: 256 * KiB,
  downloadToUploadRatio: 4,
  seedUploadBytesPerS: null,
  arrivals: "flash",
  flashSpreadS: 0,
  arrivalRatePerS: 10,
  departure: "seed-on",
  freeRiderFraction: 0,
  choker: true,
  pieceSelection: "rarest-first",
  seedLeavesAfterFullCopy: false,
  connectTo: 15,
  maxConnections: 50,
  reannounceS: 30,
  latencyMs: [10, 50],
  downlinkSharing: "max-min",
  uploadScheduling: "shared",
  stepMs: 20,
  tickMs: 1000,
  maxSimS: 3600,
  sampleEveryS: 1,
  idleCensusUntilS: 0,
  // Large flash crowds from one initial seed: the case super-seeding is for.
  engine: { superSeeding: "auto" },
};

/** Named scenarios for `npm run sim -- --scenario NAME`. */
export const scenarios: Readonly<Record<string, Partial<SimConfig>>> = {
  homogeneous: { capacity: "homogeneous" },
  heterogeneous: { capacity: "heavy-tailed" },
  classes: { capacity: "classes" },
  "heavy-tailed": { capacity: "heavy-tailed" },
  "free-riders": { capacity: "homogeneous", freeRiderFraction: 0.2, departure: "leave" },
  "free-riders-no-choker": { capacity: "homogeneous", freeRiderFraction: 0.2, departure: "leave", choker: false },
  "seed-leaves": { capacity: "homogeneous", seedLeavesAfterFullCopy: true },
  "slow-seed-rarest": { capacity: "homogeneous", seedUploadBytesPerS: 64 * KiB, seedLeavesAfterFullCopy: true, pieceSelection: "rarest-first" },
  "slow-seed-random": { capacity: "homogeneous", seedUploadBytesPerS: 64 * KiB, seedLeavesAfterFullCopy: true, pieceSelection: "random" },
  poisson: { arrivals: "poisson", arrivalRatePerS: 5, departure: "leave" },
};

export interface PeerCapacity {
  readonly uploadBytesPerS: number;
  readonly downloadBytesPerS: number;
}

/** Pareto shape of the heavy-tailed model (Mahanti et al. 2013: power laws in Internet measurements). */
export const paretoShape = 2;
/** The heavy tail is cut at this many times the mean. */
export const paretoCapTimesMean = 20;
/** Classes model: this fraction of peers is fast... */
export const fastClassFraction = 0.2;
/** ...uploading this many times faster than the slow class. */
export const fastClassSpeedup = 4;

/** Draws one downloader's capacities. */
export function drawCapacity(cfg: SimConfig, random: Random): PeerCapacity {
  const m = cfg.meanUploadBytesPerS;
  let up: number;
  switch (cfg.capacity) {
    case "homogeneous":
      up = m;
      break;
    case "classes": {
      const slow = m / (1 - fastClassFraction + fastClassFraction * fastClassSpeedup);
      up = random.next() < fastClassFraction ? slow * fastClassSpeedup : slow;
      break;
    }
    case "heavy-tailed": {
      // Pareto(x_min, shape) has mean x_min * shape / (shape - 1).
      const xMin = (m * (paretoShape - 1)) / paretoShape;
      const u = 1 - random.next();
      up = Math.min(paretoCapTimesMean * m, xMin / Math.pow(u, 1 / paretoShape));
      break;
    }
  }
  return { uploadBytesPerS: up, downloadBytesPerS: up * cfg.downloadToUploadRatio };
}
