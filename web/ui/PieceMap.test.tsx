// @vitest-environment jsdom
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { PieceState } from "../../core/engine/session-types.ts";
import { PieceMap } from "./PieceMap.tsx";
import { countPieces, distributedCopies, lightPalette, pieceAt, pieceCellColour, pieceGrid, pieceMapSummary, pieceTitle } from "./pieceMapModel.ts";

afterEach(cleanup);

/** Fixtures from readable strings, libtorrent style: "*" verified, "d" downloading, " " missing. */
function states(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => (c === "*" ? PieceState.verified : c === "d" ? PieceState.downloading : PieceState.missing));
}
function avail(digits: string): Uint16Array {
  return Uint16Array.from(digits, (c) => Number(c));
}

describe("pieceCellColour", () => {
  const p = lightPalette;
  it("colours verified and downloading pieces whatever their availability", () => {
    expect(pieceCellColour(PieceState.verified, 0, 3, p)).toEqual(p.have);
    expect(pieceCellColour(PieceState.verified, 3, 3, p)).toEqual(p.have);
    expect(pieceCellColour(PieceState.downloading, 2, 3, p)).toEqual(p.downloading);
  });
  it("marks a missing piece no peer has as unavailable", () => {
    expect(pieceCellColour(PieceState.missing, 0, 3, p)).toEqual(p.unavailable);
  });
  it("shades missing pieces from light (one peer) to dark (the most peers)", () => {
    expect(pieceCellColour(PieceState.missing, 1, 3, p)).toEqual(p.missingFew);
    expect(pieceCellColour(PieceState.missing, 3, 3, p)).toEqual(p.missingMany);
    const middle = pieceCellColour(PieceState.missing, 2, 3, p);
    for (let c = 0; c < 3; c++) {
      const lo = Math.min(p.missingFew[c]!, p.missingMany[c]!);
      const hi = Math.max(p.missingFew[c]!, p.missingMany[c]!);
      expect(middle[c]).toBeGreaterThan(lo);
      expect(middle[c]).toBeLessThan(hi);
    }
  });
  it("uses the dark shade when every available piece is on a single peer", () => {
    expect(pieceCellColour(PieceState.missing, 1, 1, p)).toEqual(p.missingMany);
  });
});

describe("pieceMapSummary", () => {
  it("counts verified, downloading, missing and pieces on no peer", () => {
    const counts = countPieces(states("**d  *  "), avail("22230100"));
    expect(counts).toEqual({ total: 8, verified: 3, downloading: 1, missing: 4, unavailable: 3, maxAvailability: 3 });
    expect(pieceMapSummary(counts)).toBe("Piece map: 3 of 8 pieces verified, 1 downloading, 4 missing (3 on no connected peer)");
  });
  it("says so when everything is there", () => {
    expect(pieceMapSummary(countPieces(states("****"), avail("0000")))).toBe("Piece map: 4 of 4 pieces verified");
  });
  it("explains an empty map before metadata", () => {
    expect(pieceMapSummary(countPieces(new Uint8Array(0), new Uint16Array(0)))).toMatch(/waiting/);
  });
});

describe("pieceGrid", () => {
  it("fits thousands of pieces in a bounded height", () => {
    const grid = pieceGrid(10_000, 600, 160);
    expect(grid.columns * grid.rows).toBeGreaterThanOrEqual(10_000);
    expect(grid.heightPx).toBeLessThanOrEqual(160 + grid.cellPx);
    expect(grid.columns * grid.cellPx).toBeLessThanOrEqual(600);
  });
  it("keeps a few pieces as large cells", () => {
    const grid = pieceGrid(10, 600);
    expect(grid.cellPx).toBe(18);
    expect(grid.rows).toBe(1);
  });
});

describe("<PieceMap>", () => {
  it("is an image named by its summary", () => {
    render(<PieceMap pieceStates={states("*d  ")} availability={avail("1210")} />);
    const map = screen.getByRole("img", { name: /^Piece map/ });
    expect(map.getAttribute("aria-label")).toBe("Piece map: 1 of 4 pieces verified, 1 downloading, 2 missing (1 on no connected peer)");
    expect(map.tagName).toBe("CANVAS");
  });
  it("updates its summary when pieces arrive", () => {
    const { rerender } = render(<PieceMap pieceStates={states("  ")} availability={avail("11")} />);
    expect(screen.getByRole("img", { name: /^Piece map/ }).getAttribute("aria-label")).toBe("Piece map: 0 of 2 pieces verified, 2 missing");
    rerender(<PieceMap pieceStates={states("**")} availability={avail("11")} />);
    expect(screen.getByRole("img", { name: /^Piece map/ }).getAttribute("aria-label")).toBe("Piece map: 2 of 2 pieces verified");
  });
  it("shows a legend for the colours", () => {
    render(<PieceMap pieceStates={states("*")} availability={avail("0")} />);
    expect(screen.getByText("Have")).toBeTruthy();
    expect(screen.getByText("Downloading")).toBeTruthy();
  });
});

describe("distributedCopies", () => {
  it("counts whole copies plus the share of pieces above the rarest", () => {
    expect(distributedCopies(avail("2223333"))).toBeCloseTo(2 + 4 / 7);
    expect(distributedCopies(avail("1111"))).toBe(1);
    expect(distributedCopies(avail("0111"))).toBeCloseTo(0.75);
    expect(distributedCopies(new Uint16Array(0))).toBe(0);
  });
});

describe("pieceAt and pieceTitle", () => {
  it("finds the piece under the pointer", () => {
    const grid = pieceGrid(25, 100, 160, 10); // 10 px cells, 10 columns
    expect(grid.columns).toBe(10);
    expect(pieceAt(grid, 0, 0, 25)).toBe(0);
    expect(pieceAt(grid, 35, 12, 25)).toBe(13);
    expect(pieceAt(grid, 55, 25, 25)).toBeNull(); // past the last piece
    expect(pieceAt(grid, -1, 5, 25)).toBeNull();
  });
  it("describes one piece", () => {
    expect(pieceTitle(13, PieceState.missing, 2)).toBe("Piece 13: missing, on 2 connected peers");
    expect(pieceTitle(0, PieceState.verified, 1)).toBe("Piece 0: have, on 1 connected peer");
  });
});
