// Overlay maintenance: when to ask a tracker for peers again before its interval
// (two minutes by default) is up. A transfer that is still downloading and has
// lost a neighbour while it has few left announces again soon (fresh offers), so
// a replacement is found; one with no peer at all keeps asking every 20 s. Never
// more often than every 5 s, and never while the tracker client is connecting or
// backing off after a failure (it announces by itself once it is connected).
import type { TrackerView } from "./types.ts";

export const reannouncePolicy = {
  /** No two announces to one tracker closer than this. */
  minGapMs: 5_000,
  /** Below this many connected peers, a lost one is replaced at once. */
  fewPeers: 4,
  /** With no peer at all, announce again this often. */
  lonelyMs: 20_000,
} as const;

export interface ReannounceInput {
  /** Open connections of this transfer. */
  readonly connectedPeers: number;
  /** Every wanted piece is verified (seeding): others find us; we need nobody. */
  readonly complete: boolean;
  /** Paused by the user or stopped on an error: no peers wanted. */
  readonly idle: boolean;
  readonly trackerState: TrackerView["state"];
  /** When this tracker was last sent an announce (epoch ms); null before the first. */
  readonly lastAnnounceAtMs: number | null;
  /** When a connection of this transfer last closed (epoch ms); null if none has. */
  readonly lastPeerLostAtMs: number | null;
  readonly nowMs: number;
}

/** Whether to announce to this tracker now, ahead of its interval. */
export function shouldReannounce(input: ReannounceInput, policy: typeof reannouncePolicy = reannouncePolicy): boolean {
  if (input.idle || input.complete) return false;
  // Connecting or retrying with backoff: the client announces when it is connected again.
  if (input.trackerState !== "connected") return false;
  // The first announce goes out when the socket opens.
  if (input.lastAnnounceAtMs === null) return false;
  const since = input.nowMs - input.lastAnnounceAtMs;
  if (since < policy.minGapMs) return false;
  if (input.connectedPeers === 0 && since >= policy.lonelyMs) return true;
  // A neighbour left since the last announce and few are left: look for a replacement.
  return input.connectedPeers < policy.fewPeers && input.lastPeerLostAtMs !== null && input.lastPeerLostAtMs >= input.lastAnnounceAtMs;
}
