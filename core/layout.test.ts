import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { LayoutError, byteRangePieces, byteRangeSegments, filePieceRange, fileRangePieces, pieceSegments, type LayoutInfo } from "./layout.ts";
import { createTorrentFromBytes } from "./metainfo.ts";
import { concatBytes } from "./bytes.ts";
import { seededRandom } from "./random.ts";

const KiB = 1024;

/** A layout from file lengths, without hashing (layout is pure arithmetic). */
function layoutOf(lengths: readonly number[], pieceLength: number): LayoutInfo {
  let offset = 0;
  const files = lengths.map((length, i) => {
    const f = { path: [`f${i}`], length, offset };
    offset += length;
    return f;
  });
  return { files, pieceLength, totalLength: offset, pieceCount: Math.ceil(offset / pieceLength) };
}

const layouts = fc
  .tuple(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 * KiB }), fc.integer({ min: 1, max: 50 })), { minLength: 1, maxLength: 10 }), fc.integer({ min: 14, max: 17 }))
  .filter(([lengths]) => lengths.some((l) => l > 0))
  .map(([lengths, log2]) => layoutOf(lengths, 2 ** log2));

describe("pieceSegments", () => {
  it("tiles every file exactly once over all pieces, in stream order", () => {
    fc.assert(
      fc.property(layouts, (info) => {
        const covered = info.files.map(() => 0);
        let streamPos = 0;
        for (let p = 0; p < info.pieceCount; p++) {
          const segs = pieceSegments(info, p);
          let inPiece = 0;
          for (const s of segs) {
            const f = info.files[s.fileIndex]!;
            expect(s.length).toBeGreaterThan(0);
            expect(s.pieceOffset).toBe(inPiece);
            // Each segment continues exactly where the previous one left off in the file.
            expect(s.fileOffset).toBe(covered[s.fileIndex]);
            expect(f.offset + s.fileOffset).toBe(streamPos);
            covered[s.fileIndex]! += s.length;
            inPiece += s.length;
            streamPos += s.length;
          }
          const expectedSize = p < info.pieceCount - 1 ? info.pieceLength : info.totalLength - p * info.pieceLength;
          expect(inPiece).toBe(expectedSize);
        }
        expect(covered).toEqual(info.files.map((f) => f.length));
        expect(streamPos).toBe(info.totalLength);
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with filePieceRange: a file appears in exactly the pieces of its range", () => {
    fc.assert(
      fc.property(layouts, (info) => {
        info.files.forEach((f, i) => {
          const range = filePieceRange(info, i);
          const pieces: number[] = [];
          for (let p = 0; p < info.pieceCount; p++) if (pieceSegments(info, p).some((s) => s.fileIndex === i)) pieces.push(p);
          if (f.length === 0) {
            expect(range).toBeNull();
            expect(pieces).toEqual([]);
          } else {
            expect(range).not.toBeNull();
            expect(pieces).toEqual(Array.from({ length: range!.last - range!.first + 1 }, (_, k) => range!.first + k));
          }
        });
      }),
      { numRuns: 200 },
    );
  });

  it("reassembles real torrent content: piece bytes gathered from files equal the stream", async () => {
    const rng = seededRandom(42);
    const files = [
      { path: ["a.bin"], data: rng.bytes(20_000) },
      { path: ["empty"], data: new Uint8Array(0) },
      { path: ["dir", "b.bin"], data: rng.bytes(3) },
      { path: ["dir", "c.bin"], data: rng.bytes(30_000) },
    ];
    const info = await createTorrentFromBytes("t", files, 16 * KiB);
    const stream = concatBytes(files.map((f) => f.data));
    for (let p = 0; p < info.pieceCount; p++) {
      const parts = pieceSegments(info, p).map((s) => files[s.fileIndex]!.data.subarray(s.fileOffset, s.fileOffset + s.length));
      expect(concatBytes(parts)).toEqual(stream.subarray(p * info.pieceLength, (p + 1) * info.pieceLength));
    }
    // Piece 1 spans a.bin's tail, b.bin and c.bin's head (skipping the empty file).
    expect(pieceSegments(info, 1)).toEqual([
      { fileIndex: 0, fileOffset: 16 * KiB, pieceOffset: 0, length: 20_000 - 16 * KiB },
      { fileIndex: 2, fileOffset: 0, pieceOffset: 20_000 - 16 * KiB, length: 3 },
      { fileIndex: 3, fileOffset: 0, pieceOffset: 20_003 - 16 * KiB, length: 32 * KiB - 20_003 },
    ]);
  });

  it("throws LayoutError for a piece index out of range", () => {
    const info = layoutOf([100], 16 * KiB);
    expect(() => pieceSegments(info, 1)).toThrow(LayoutError);
    expect(() => pieceSegments(info, -1)).toThrow(LayoutError);
    expect(() => pieceSegments(info, 0.5)).toThrow(LayoutError);
  });
});

describe("byteRangeSegments", () => {
  it("covers any byte range exactly, with offsets relative to the range", () => {
    fc.assert(
      fc.property(
        layouts.chain((info) => fc.tuple(fc.constant(info), fc.integer({ min: 0, max: info.totalLength })).chain(([i, start]) => fc.tuple(fc.constant(i), fc.constant(start), fc.integer({ min: 0, max: i.totalLength - start })))),
        ([info, offset, length]) => {
          const segs = byteRangeSegments(info, offset, length);
          let at = 0;
          for (const s of segs) {
            expect(s.pieceOffset).toBe(at);
            expect(info.files[s.fileIndex]!.offset + s.fileOffset).toBe(offset + at);
            expect(s.fileOffset + s.length).toBeLessThanOrEqual(info.files[s.fileIndex]!.length);
            at += s.length;
          }
          expect(at).toBe(length);
          const pieces = byteRangePieces(info, offset, length);
          if (length === 0) expect(pieces).toBeNull();
          else expect(pieces).toEqual({ first: Math.floor(offset / info.pieceLength), last: Math.floor((offset + length - 1) / info.pieceLength) });
        },
      ),
      { numRuns: 300 },
    );
  });

  it("throws LayoutError for ranges past the end or negative", () => {
    const info = layoutOf([10, 0, 5], 16 * KiB);
    expect(() => byteRangeSegments(info, 10, 6)).toThrow(LayoutError);
    expect(() => byteRangeSegments(info, -1, 1)).toThrow(/outside the torrent's 15 bytes/);
    expect(() => byteRangeSegments(info, 0, Number.NaN)).toThrow(LayoutError);
    expect(byteRangeSegments(info, 9, 2)).toEqual([
      { fileIndex: 0, fileOffset: 9, pieceOffset: 0, length: 1 },
      { fileIndex: 2, fileOffset: 0, pieceOffset: 1, length: 1 },
    ]);
    expect(() => filePieceRange(info, 3)).toThrow(LayoutError);
    expect(filePieceRange(info, 1)).toBeNull();
  });
});

describe("fileRangePieces", () => {
  it("maps a byte range of a file that starts mid-piece to the pieces and the parts of them it covers", () => {
    // Pieces of 16 KiB; file 1 starts 10 KiB into piece 0.
    const layout = layoutOf([10 * KiB, 40 * KiB, 5], 16 * KiB);
    expect(fileRangePieces(layout, 1, 0, 40 * KiB)).toEqual([
      { piece: 0, pieceOffset: 10 * KiB, length: 6 * KiB, fileStart: 0 },
      { piece: 1, pieceOffset: 0, length: 16 * KiB, fileStart: 6 * KiB },
      { piece: 2, pieceOffset: 0, length: 16 * KiB, fileStart: 22 * KiB },
      { piece: 3, pieceOffset: 0, length: 2 * KiB, fileStart: 38 * KiB },
    ]);
    // A player's range inside one piece, and the last byte of the file.
    expect(fileRangePieces(layout, 1, 7 * KiB, 8 * KiB)).toEqual([{ piece: 1, pieceOffset: KiB, length: KiB, fileStart: 7 * KiB }]);
    expect(fileRangePieces(layout, 2, 4, 5)).toEqual([{ piece: 3, pieceOffset: 2 * KiB + 4, length: 1, fileStart: 4 }]);
    expect(fileRangePieces(layout, 1, 100, 100)).toEqual([]);
  });

  it("refuses ranges outside the file", () => {
    const layout = layoutOf([100, 200], 64);
    expect(() => fileRangePieces(layout, 1, 0, 201)).toThrow(LayoutError);
    expect(() => fileRangePieces(layout, 1, 50, 40)).toThrow(LayoutError);
    expect(() => fileRangePieces(layout, 1, -1, 10)).toThrow(LayoutError);
    expect(() => fileRangePieces(layout, 2, 0, 0)).toThrow(LayoutError);
  });

  it("covers exactly the range, in order, each span inside one piece (property)", () => {
    fc.assert(
      fc.property(
        layouts.chain((layout) =>
          fc.tuple(fc.constant(layout), fc.integer({ min: 0, max: layout.files.length - 1 })).chain(([l, i]) => {
            const length = l.files[i]!.length;
            return fc.tuple(fc.constant(l), fc.constant(i), fc.integer({ min: 0, max: length }), fc.integer({ min: 0, max: length }));
          }),
        ),
        ([layout, i, x, y]) => {
          const [start, end] = x <= y ? [x, y] : [y, x];
          const spans = fileRangePieces(layout, i, start, end);
          let at = start;
          for (const s of spans) {
            expect(s.fileStart).toBe(at);
            expect(s.length).toBeGreaterThan(0);
            expect(s.pieceOffset + s.length).toBeLessThanOrEqual(layout.pieceLength);
            expect(s.piece * layout.pieceLength + s.pieceOffset).toBe(layout.files[i]!.offset + at);
            at += s.length;
          }
          expect(at).toBe(end);
        },
      ),
    );
  });
});
