// Why downloaders' uplinks sit idle: a census of every downloader at one
// instant, each put in exactly one class (the first that applies):
//  - sending: a block is queued on one of its links;
//  - waitingOnNetwork: a neighbour that lacks one of its pieces is unchoked and
//    interested, and either a request from it is on the way or it has not yet
//    heard the unchoke (latency);
//  - unrequested: such a neighbour could request a piece it lacks from this
//    peer and nobody else is sending it that piece, yet has not (its view of
//    our pieces lags: a `have` is on the way);
//  - wantedElsewhere: such neighbours exist, but every piece they lack from
//    this peer is already coming to them from another peer;
//  - chokedLackers: the neighbours that lack and want its pieces are choked;
//  - notInterested: neighbours lack its pieces but are not interested (they
//    released an idle slot, or have not heard the `have` yet);
//  - nothingToOffer: every neighbour already has every piece it has.
// The simulator takes one per sample while `idleCensusUntilS` lasts (costly:
// it compares bitfields of every pair of neighbours).
// It reads engines through peerLinkState, not peerInfo: reading a rate meter
// re-bases it, which shifts later floating-point decisions (1,000 x 1,000,
// seed 1: ratio 1.111 observed against 1.110 not observed).
import type { TorrentEngine } from "../core/engine/engine.ts";
import type { ConnectionId } from "../core/engine/session-types.ts";

export interface UploadCensus {
  readonly sending: number;
  readonly waitingOnNetwork: number;
  readonly unrequested: number;
  readonly wantedElsewhere: number;
  readonly chokedLackers: number;
  readonly notInterested: number;
  readonly nothingToOffer: number;
}

export const censusClasses = ["sending", "waitingOnNetwork", "unrequested", "wantedElsewhere", "chokedLackers", "notInterested", "nothingToOffer"] as const satisfies readonly (keyof UploadCensus)[];

export interface CensusPeer {
  readonly id: number;
  readonly engine: TorrentEngine;
  /** A block is queued on one of its outgoing links. */
  readonly sending: boolean;
  /** Its neighbours that are downloaders (the initial seed lacks nothing). */
  readonly neighbours: readonly { readonly id: number; readonly engine: TorrentEngine }[];
}

/** Classifies each peer (see the file comment); `keyOf(id)` is the key engines know a peer by. */
export function uploadCensus(peers: Iterable<CensusPeer>, keyOf: (id: number) => ConnectionId): UploadCensus {
  const c = { sending: 0, waitingOnNetwork: 0, unrequested: 0, wantedElsewhere: 0, chokedLackers: 0, notInterested: 0, nothingToOffer: 0 };
  for (const p of peers) {
    if (p.sending) {
      c.sending++;
      continue;
    }
    const mine = p.engine.verified.toBytes();
    let lackers = 0;
    let chokedWanting = 0;
    let elsewhere = 0;
    let unrequested = 0;
    let waiting = 0;
    for (const q of p.neighbours) {
      const theirs = q.engine.verified.toBytes();
      let lacks = false;
      for (let i = 0; i < mine.length; i++) {
        if ((mine[i]! & ~theirs[i]!) !== 0) {
          lacks = true;
          break;
        }
      }
      if (!lacks) continue;
      lackers++;
      const ours = p.engine.peerLinkState(keyOf(q.id));
      if (ours === null || !ours.peerInterested) continue;
      if (ours.amChoking) {
        chokedWanting++;
        continue;
      }
      const theirView = q.engine.peerLinkState(keyOf(p.id));
      if (theirView === null) continue;
      if (theirView.requestsInFlight > 0 || theirView.peerChoking) {
        waiting++;
        continue;
      }
      const states = q.engine.pieceStates();
      let free = false;
      for (const i of p.engine.verified.indices()) {
        if (states[i] === 0) {
          free = true;
          break;
        }
      }
      if (free) unrequested++;
      else elsewhere++;
    }
    if (waiting > 0) c.waitingOnNetwork++;
    else if (unrequested > 0) c.unrequested++;
    else if (elsewhere > 0) c.wantedElsewhere++;
    else if (chokedWanting > 0) c.chokedLackers++;
    else if (lackers > 0) c.notInterested++;
    else c.nothingToOffer++;
  }
  return c;
}
