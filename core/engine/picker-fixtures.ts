// Readable fixtures for picker tests (libtorrent style): availability strings
// like "2223333" (one digit per piece: how many peers have it) and have
// strings like "* * *  " ('*' = has the piece). Used by tests only.
import { AvailabilityIndex, PiecePriority, type PickerPeer, type PickerView, type PiecePriorityValue } from "./picker.ts";
import { Downloads } from "./request-queue.ts";

export function parseHave(have: string): boolean[] {
  return [...have].map((c) => c === "*");
}

export interface ViewFixture {
  /** One digit per piece: how many connected peers have it. */
  readonly availability: string;
  /** Our verified pieces ('*'). Defaults to none. */
  readonly have?: string;
  /** One char per piece: '0' skip, '1' normal, '2' high. Defaults to all normal. */
  readonly priorities?: string;
  readonly blocksPerPiece?: number;
  readonly playheadPiece?: number | null;
}

export interface BuiltView {
  readonly view: PickerView;
  readonly downloads: Downloads;
}

export function buildView(f: ViewFixture): BuiltView {
  const n = f.availability.length;
  const availability = new AvailabilityIndex(n);
  const have = f.have === undefined ? new Array<boolean>(n).fill(false) : parseHave(f.have.padEnd(n, " "));
  for (let i = 0; i < n; i++) {
    const c = Number(f.availability[i]);
    for (let k = 0; k < c; k++) availability.increment(i);
    if (have[i]) availability.retire(i);
  }
  const prio = (i: number): PiecePriorityValue =>
    f.priorities === undefined ? PiecePriority.normal : (Number(f.priorities[i] ?? "1") as PiecePriorityValue);
  const blocks = f.blocksPerPiece ?? 1;
  const downloads = new Downloads(() => blocks, blocks);
  const view: PickerView = {
    pieceCount: n,
    availability,
    have: (i) => have[i] === true,
    priority: prio,
    get partials() {
      return downloads.partials;
    },
    isPartial: (i) => downloads.isPartial(i),
    blockCount: () => blocks,
    get partialCount() {
      return downloads.partialCount;
    },
    get verifiedCount() {
      return have.filter(Boolean).length;
    },
    get untouchedWantedCount() {
      let c = 0;
      for (let i = 0; i < n; i++) if (!have[i] && !downloads.isPartial(i) && prio(i) !== PiecePriority.skip) c++;
      return c;
    },
    playheadPiece: f.playheadPiece ?? null,
  };
  return { view, downloads };
}

export function peerWith(key: string, have: string): PickerPeer {
  const bits = parseHave(have);
  return { key, has: (i) => bits[i] === true };
}
