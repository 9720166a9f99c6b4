// Pure parts of the piece map: the colour of one cell, the summary a screen
// reader hears, and the grid layout. PieceMap.tsx only paints what these say.
import { PieceState } from "../../core/engine/session-types.ts";

export type Rgb = readonly [number, number, number];

export interface PiecePalette {
  /** verified */
  readonly have: Rgb;
  /** requested, blocks arriving */
  readonly downloading: Rgb;
  /** missing and no connected peer has it */
  readonly unavailable: Rgb;
  /** missing, one peer has it (lightest shade) */
  readonly missingFew: Rgb;
  /** missing, the most-available piece (darkest shade) */
  readonly missingMany: Rgb;
}

export const lightPalette: PiecePalette = {
  have: [22, 163, 74],
  downloading: [234, 179, 8],
  unavailable: [229, 231, 235],
  missingFew: [191, 219, 254],
  missingMany: [37, 99, 235],
};

export const darkPalette: PiecePalette = {
  have: [34, 197, 94],
  downloading: [250, 204, 21],
  unavailable: [55, 65, 81],
  missingFew: [30, 58, 138],
  missingMany: [96, 165, 250],
};

export function rgbCss([r, g, b]: Rgb): string {
  return `rgb(${r}, ${g}, ${b})`;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  const k = Math.max(0, Math.min(1, t));
  return [Math.round(a[0] + (b[0] - a[0]) * k), Math.round(a[1] + (b[1] - a[1]) * k), Math.round(a[2] + (b[2] - a[2]) * k)];
}

/**
 * One cell's colour. Verified and downloading pieces have their own colours;
 * a missing piece is shaded by how many connected peers have it, relative to
 * the best-available piece (`maxAvailability`), so rare pieces stand out.
 */
export function pieceCellColour(state: number, availability: number, maxAvailability: number, palette: PiecePalette): Rgb {
  if (state === PieceState.verified) return palette.have;
  if (state === PieceState.downloading) return palette.downloading;
  if (availability <= 0) return palette.unavailable;
  if (maxAvailability <= 1) return palette.missingMany;
  return mix(palette.missingFew, palette.missingMany, (availability - 1) / (maxAvailability - 1));
}

export interface PieceCounts {
  readonly total: number;
  readonly verified: number;
  readonly downloading: number;
  readonly missing: number;
  /** Missing pieces no connected peer has. */
  readonly unavailable: number;
  readonly maxAvailability: number;
}

export function countPieces(pieceStates: Uint8Array, availability: Uint16Array): PieceCounts {
  let verified = 0;
  let downloading = 0;
  let unavailable = 0;
  let maxAvailability = 0;
  for (let i = 0; i < pieceStates.length; i++) {
    const state = pieceStates[i];
    const avail = availability[i] ?? 0;
    if (avail > maxAvailability) maxAvailability = avail;
    if (state === PieceState.verified) verified++;
    else if (state === PieceState.downloading) downloading++;
    else if (avail === 0) unavailable++;
  }
  const total = pieceStates.length;
  return { total, verified, downloading, missing: total - verified - downloading, unavailable, maxAvailability };
}

/** What the piece map's aria-label says. */
export function pieceMapSummary(counts: PieceCounts): string {
  if (counts.total === 0) return "Piece map: waiting for the file list from peers";
  const pieces = counts.total === 1 ? "piece" : "pieces";
  const parts = [`${counts.verified} of ${counts.total} ${pieces} verified`];
  if (counts.downloading > 0) parts.push(`${counts.downloading} downloading`);
  if (counts.missing > 0) {
    parts.push(counts.unavailable > 0 ? `${counts.missing} missing (${counts.unavailable} on no connected peer)` : `${counts.missing} missing`);
  }
  return `Piece map: ${parts.join(", ")}`;
}

export interface PieceGrid {
  readonly cellPx: number;
  readonly gapPx: number;
  readonly columns: number;
  readonly rows: number;
  readonly heightPx: number;
}

/** Square cells filling `widthPx`, small enough that the map stays under `maxHeightPx` when it can. */
export function pieceGrid(pieceCount: number, widthPx: number, maxHeightPx = 160, maxCellPx = 18, minCellPx = 2): PieceGrid {
  const width = Math.max(1, Math.floor(widthPx));
  if (pieceCount <= 0) return { cellPx: maxCellPx, gapPx: 0, columns: 0, rows: 0, heightPx: 0 };
  let cell = Math.floor(Math.sqrt((width * maxHeightPx) / pieceCount));
  cell = Math.max(minCellPx, Math.min(maxCellPx, cell));
  let columns = Math.max(1, Math.floor(width / cell));
  let rows = Math.ceil(pieceCount / columns);
  while (cell > minCellPx && rows * cell > maxHeightPx) {
    cell -= 1;
    columns = Math.max(1, Math.floor(width / cell));
    rows = Math.ceil(pieceCount / columns);
  }
  const gapPx = cell >= 6 ? 1 : 0;
  return { cellPx: cell, gapPx, columns, rows, heightPx: rows * cell };
}

/**
 * Distributed copies, as classic BitTorrent clients show "availability": the
 * number of complete copies the connected peers hold between them. With m the
 * rarest piece's availability and k the pieces held by more than m peers,
 * copies = m + k / pieceCount. At 1.0 or more every piece is on some peer.
 */
export function distributedCopies(availability: Uint16Array): number {
  if (availability.length === 0) return 0;
  let min = Infinity;
  for (const a of availability) if (a < min) min = a;
  let above = 0;
  for (const a of availability) if (a > min) above++;
  return min + above / availability.length;
}

/** The piece under a point of the map, or null between or past the cells. */
export function pieceAt(grid: PieceGrid, xPx: number, yPx: number, pieceCount: number): number | null {
  if (grid.columns === 0 || xPx < 0 || yPx < 0) return null;
  const column = Math.floor(xPx / grid.cellPx);
  const row = Math.floor(yPx / grid.cellPx);
  if (column >= grid.columns) return null;
  const index = row * grid.columns + column;
  return index < pieceCount ? index : null;
}

export function pieceTitle(index: number, state: number, availability: number): string {
  const what = state === PieceState.verified ? "have" : state === PieceState.downloading ? "downloading" : "missing";
  return `Piece ${index}: ${what}, on ${availability} connected ${availability === 1 ? "peer" : "peers"}`;
}
