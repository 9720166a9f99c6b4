import { describe, expect, it } from "vitest";
import fc from "fast-check";
// Tests read the published webtorrent-fixtures from disk; the code under test does no I/O.
// eslint-disable-next-line no-restricted-imports
import { readFileSync, readdirSync, statSync } from "node:fs";
// eslint-disable-next-line no-restricted-imports
import { join } from "node:path";
import { concatBytes, sha1, toHex, utf8 } from "./bytes.ts";
import { dict, encode } from "./bencode.ts";
import { infoHashFromHex } from "./ids.ts";
import {
  MetainfoError,
  PieceHasher,
  buildInfo,
  choosePieceLength,
  createTorrentFromBytes,
  encodeTorrentFile,
  infoFromBytes,
  parseTorrentFile,
  pieceHashAt,
  pieceSize,
} from "./metainfo.ts";
import { seededRandom } from "./random.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const fixtures = join(import.meta.dirname, "..", "node_modules", "webtorrent-fixtures", "fixtures");
const readFixture = (name: string): Uint8Array => new Uint8Array(readFileSync(join(fixtures, name)));

/** Every file below `dir`, as [path segments, bytes], in sorted order (as create-torrent walks a folder). */
function readFolder(dir: string, prefix: string[] = []): { path: string[]; data: Uint8Array }[] {
  const out: { path: string[]; data: Uint8Array }[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...readFolder(full, [...prefix, entry]));
    else out.push({ path: [...prefix, entry], data: new Uint8Array(readFileSync(full)) });
  }
  return out;
}

async function expectMetainfoError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await expect(promise).rejects.toThrow(MetainfoError);
  await expect(promise).rejects.toThrow(message);
}

describe("choosePieceLength", () => {
  it("gives 16 KiB to a 1 KB file", () => {
    expect(choosePieceLength(1000)).toBe(16 * KiB);
  });
  it("gives 1 GiB a piece length near 1,000-2,000 pieces", () => {
    const pieceLength = choosePieceLength(GiB);
    expect([512 * KiB, 1 * MiB]).toContain(pieceLength);
    const pieces = Math.ceil(GiB / pieceLength);
    expect(pieces).toBeGreaterThanOrEqual(1000);
    expect(pieces).toBeLessThanOrEqual(2048);
  });
  it("caps 100 GiB at 4 MiB", () => {
    expect(choosePieceLength(100 * GiB)).toBe(4 * MiB);
  });
  it("is always a power of two in 16 KiB..4 MiB with 1,000-2,000 pieces unless clamped", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (total) => {
        const pl = choosePieceLength(total);
        expect(pl & (pl - 1)).toBe(0);
        expect(pl).toBeGreaterThanOrEqual(16 * KiB);
        expect(pl).toBeLessThanOrEqual(4 * MiB);
        const pieces = Math.ceil(total / pl);
        if (pl < 4 * MiB) expect(pieces).toBeLessThanOrEqual(2000);
        if (pl > 16 * KiB) expect(pieces).toBeGreaterThan(1000);
      }),
    );
  });
  it("rejects a negative or fractional length", () => {
    expect(() => choosePieceLength(-1)).toThrow(MetainfoError);
    expect(() => choosePieceLength(1.5)).toThrow(MetainfoError);
  });
});

describe("PieceHasher", () => {
  it("equals hashing whole pieces, over any chunking", async () => {
    const pieceLength = 16 * KiB;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 * pieceLength + 100 }),
        fc.array(fc.integer({ min: 0, max: 40 * KiB }), { maxLength: 12 }),
        fc.integer(),
        async (length, cuts, seed) => {
          const data = seededRandom(seed).bytes(length);
          const hasher = new PieceHasher(pieceLength);
          const points = [...new Set(cuts.map((c) => Math.min(c, length)))].sort((a, b) => a - b);
          let at = 0;
          for (const p of [...points, length]) {
            await hasher.update(data.subarray(at, p));
            at = p;
          }
          expect(hasher.bytesHashed).toBe(length);
          const got = await hasher.finish();
          const expected: Uint8Array[] = [];
          for (let off = 0; off < length; off += pieceLength) expected.push(await sha1(data.subarray(off, off + pieceLength)));
          expect(toHex(got)).toBe(toHex(concatBytes(expected)));
          expect(got.length).toBe(20 * Math.ceil(length / pieceLength));
        },
      ),
      { numRuns: 60 },
    );
  });
  it("keeps order when updates are not awaited one by one", async () => {
    const data = seededRandom(7).bytes(100 * KiB);
    const hasher = new PieceHasher(16 * KiB);
    await Promise.all([hasher.update(data.subarray(0, 10_000)), hasher.update(data.subarray(10_000, 70_000)), hasher.update(data.subarray(70_000))]);
    const whole = new PieceHasher(16 * KiB);
    await whole.update(data);
    expect(toHex(await hasher.finish())).toBe(toHex(await whole.finish()));
  });
  it("matches the piece hashes of a published torrent (Leaves of Grass)", async () => {
    const parsed = await parseTorrentFile(readFixture("leaves.torrent"));
    const hasher = new PieceHasher(parsed.info.pieceLength);
    const content = readFixture("Leaves of Grass by Walt Whitman.epub");
    for (let off = 0; off < content.length; off += 5000) await hasher.update(content.subarray(off, off + 5000));
    expect(toHex(await hasher.finish())).toBe(toHex(parsed.info.pieceHashes));
  });
  it("rejects a piece length that is not a power of two, and use after finish", async () => {
    expect(() => new PieceHasher(20_000)).toThrow(MetainfoError);
    expect(() => new PieceHasher(1024)).toThrow(MetainfoError);
    const hasher = new PieceHasher(16 * KiB);
    await hasher.finish();
    await expect(hasher.update(new Uint8Array(1))).rejects.toThrow(MetainfoError);
  });
});

describe("published torrents (webtorrent-fixtures)", () => {
  // Infohashes as published for these fixtures (WebTorrent's test suite and parse-torrent).
  const published: [file: string, infoHash: string, name: string, totalLength: number, fileCount: number][] = [
    ["leaves.torrent", "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36", "Leaves of Grass by Walt Whitman.epub", 362017, 1],
    ["alice.torrent", "722fe65b2aa26d14f35b4ad627d20236e481d924", "alice.txt", 163783, 1],
    ["folder.torrent", "b88da2caac6648e6c7d7687e3f89085f7e230e6b", "folder", 15, 1],
    ["numbers.torrent", "89d97c2261a21b040cf11caa661a3ba7233bb7e6", "numbers", 6, 3],
    ["lots-of-numbers.torrent", "114ead6243792ba56297edbb9a78dfba84d4fc00", "lots-of-numbers", 12, 6],
    ["bunny.torrent", "af8f10f30bf9aefecf3686922bfa0d5bd290a395", "bbb_sunflower_1080p_30fps_stereo_abl.mp4", 434839491, 1],
    ["sintel.torrent", "c334138ef5bfc2d568ea7324e0e2a3a7ec229bdd", "Sintel.2010.4K.DMRip.x264.DD.DTS.SRT-MaLLIeHbKa.mkv", 5490455272, 1],
    ["leaves-metadata.torrent", "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36", "Leaves of Grass by Walt Whitman.epub", 362017, 1],
  ];
  for (const [file, infoHash, name, totalLength, fileCount] of published) {
    it(`${file} has infohash ${infoHash}`, async () => {
      const { info } = await parseTorrentFile(readFixture(file));
      expect(info.infoHash).toBe(infoHash);
      expect(info.name).toBe(name);
      expect(info.totalLength).toBe(totalLength);
      expect(info.files).toHaveLength(fileCount);
      expect(info.pieceHashes.length).toBe(20 * info.pieceCount);
      // The info bytes re-parse to the same torrent (what a BEP 9 peer receives).
      const again = await infoFromBytes(info.infoBytes, infoHashFromHex(infoHash));
      expect(again.files).toEqual(info.files);
    });
  }

  it("reads the nested folders of lots-of-numbers in torrent order", async () => {
    const { info } = await parseTorrentFile(readFixture("lots-of-numbers.torrent"));
    expect(info.isMultiFile).toBe(true);
    expect(info.files.map((f) => f.path.join("/"))).toEqual([
      "big numbers/10.txt",
      "big numbers/11.txt",
      "big numbers/12.txt",
      "small numbers/1.txt",
      "small numbers/2.txt",
      "small numbers/3.txt",
    ]);
    expect(info.files.map((f) => f.offset)).toEqual([0, 2, 4, 6, 7, 9]);
  });

  it("reads web seeds (url-list) and creator fields", async () => {
    const bunny = await parseTorrentFile(readFixture("bunny.torrent"));
    expect(bunny.webSeeds).toEqual(["http://distribution.bbb3d.renderfarming.net/video/mp4/bbb_sunflower_1080p_30fps_stereo_abl.mp4"]);
    expect(bunny.createdBy).toBe("uTorrent/3320");
    expect(bunny.creationDateS).toBe(1387309701);
    expect(bunny.info.pieceLength).toBe(512 * KiB);
    expect(bunny.info.pieceCount).toBe(830);
  });

  // Our creator reproduces the published infohash from the published content:
  // proof that our info dict is byte-identical to what other clients write.
  const contents: [label: string, name: string, files: () => { path: string[]; data: Uint8Array }[], infoHash: string][] = [
    ["leaves (single file)", "Leaves of Grass by Walt Whitman.epub", () => [{ path: ["Leaves of Grass by Walt Whitman.epub"], data: readFixture("Leaves of Grass by Walt Whitman.epub") }], "d2474e86c95b19b8bcfdb92bc12c9d44667cfa36"],
    ["alice (single file)", "alice.txt", () => [{ path: ["alice.txt"], data: readFixture("alice.txt") }], "722fe65b2aa26d14f35b4ad627d20236e481d924"],
    ["folder (one file in a folder)", "folder", () => readFolder(join(fixtures, "folder")), "b88da2caac6648e6c7d7687e3f89085f7e230e6b"],
    ["numbers (three files)", "numbers", () => readFolder(join(fixtures, "numbers")), "89d97c2261a21b040cf11caa661a3ba7233bb7e6"],
    ["lots-of-numbers (nested folders)", "lots-of-numbers", () => readFolder(join(fixtures, "lots-of-numbers")), "114ead6243792ba56297edbb9a78dfba84d4fc00"],
  ];
  for (const [label, name, files, infoHash] of contents) {
    it(`creating ${label} from its content gives the published infohash`, async () => {
      const info = await createTorrentFromBytes(name, files(), 16 * KiB);
      expect(info.infoHash).toBe(infoHash);
    });
  }

  it("rejects corrupt.torrent (its info dict has no name) with a MetainfoError", async () => {
    await expectMetainfoError(parseTorrentFile(readFixture("corrupt.torrent")), /no name/);
  });
});

// --- round trip -------------------------------------------------------------

const segment = fc
  .string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(..."abcXYZ09 _-.é中😀") })
  .filter((s) => s !== "." && s !== "..");
const fileTree = fc.uniqueArray(fc.array(segment, { minLength: 1, maxLength: 3 }), {
  minLength: 1,
  maxLength: 6,
  selector: (p) => p.join("/"),
}).filter((paths) => {
  // No path may be a folder of another (a file and a folder with one name).
  const keys = new Set(paths.map((p) => p.join("/")));
  return paths.every((p) => p.slice(0, -1).every((_, k) => !keys.has(p.slice(0, k + 1).join("/"))));
});

describe("createTorrentFromBytes -> encodeTorrentFile -> parseTorrentFile", () => {
  it("round-trips infohash, files and fields", async () => {
    await fc.assert(
      fc.asyncProperty(
        segment,
        fileTree,
        fc.array(fc.integer({ min: 0, max: 40 * KiB }), { minLength: 6, maxLength: 6 }),
        fc.integer(),
        fc.array(fc.webUrl(), { maxLength: 3 }),
        fc.option(fc.string(), { nil: undefined }),
        async (name, paths, lengths, seed, announce, comment) => {
          const rng = seededRandom(seed);
          const files = paths.map((path, i) => ({ path, data: rng.bytes(lengths[i]!) }));
          fc.pre(files.some((f) => f.data.length > 0));
          const info = await createTorrentFromBytes(name, files);
          const meta = { announce, createdBy: "SwarmDrop test", creationDateS: 1_700_000_000, ...(comment === undefined ? {} : { comment }) };
          const parsed = await parseTorrentFile(encodeTorrentFile(info, meta));
          expect(parsed.info.infoHash).toBe(info.infoHash);
          expect(parsed.info.name).toBe(name);
          expect(parsed.info.files).toEqual(info.files);
          expect(parsed.info.isMultiFile).toBe(info.isMultiFile);
          expect(toHex(parsed.info.pieceHashes)).toBe(toHex(info.pieceHashes));
          expect(parsed.announce).toEqual([...new Set(announce)]);
          expect(parsed.comment).toBe(comment);
          expect(parsed.createdBy).toBe("SwarmDrop test");
          expect(parsed.creationDateS).toBe(1_700_000_000);
          // Files are laid out back to back.
          let offset = 0;
          for (const [i, f] of parsed.info.files.entries()) {
            expect(f.offset).toBe(offset);
            expect(f.length).toBe(files[i]!.data.length);
            offset += f.length;
          }
          expect(parsed.info.totalLength).toBe(offset);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("makes a single-file torrent for one file named like the torrent, and multi-file for a folder of one", async () => {
    const data = utf8("hello");
    const single = await createTorrentFromBytes("a.txt", [{ path: ["a.txt"], data }]);
    expect(single.isMultiFile).toBe(false);
    expect(single.files).toEqual([{ path: ["a.txt"], length: 5, offset: 0 }]);
    const folder = await createTorrentFromBytes("docs", [{ path: ["a.txt"], data }]);
    expect(folder.isMultiFile).toBe(true);
    expect(folder.infoHash).not.toBe(single.infoHash);
  });

  it("keeps empty files in a multi-file torrent", async () => {
    const info = await createTorrentFromBytes("f", [
      { path: ["empty"], data: new Uint8Array(0) },
      { path: ["sub", "x.bin"], data: new Uint8Array(20 * KiB) },
      { path: ["sub", "empty2"], data: new Uint8Array(0) },
    ]);
    expect(info.files.map((f) => [f.path.join("/"), f.length, f.offset])).toEqual([
      ["empty", 0, 0],
      ["sub/x.bin", 20 * KiB, 0],
      ["sub/empty2", 0, 20 * KiB],
    ]);
    expect(info.pieceCount).toBe(2);
    expect(pieceSize(info, 0)).toBe(16 * KiB);
    expect(pieceSize(info, 1)).toBe(4 * KiB);
    expect(pieceHashAt(info, 1)).toEqual(await sha1(new Uint8Array(4 * KiB)));
    expect(() => pieceSize(info, 2)).toThrow(MetainfoError);
    expect(() => pieceHashAt(info, -1)).toThrow(MetainfoError);
  });
});

// --- validation ----------------------------------------------------------------

/** A .torrent file around a hand-made info dict. */
const torrentWith = (info: Record<string, Parameters<typeof dict>[0][string]>): Uint8Array => encode(dict({ announce: utf8("ws://127.0.0.1:8000"), info: dict(info) }));
const hashes = (n: number): Uint8Array => new Uint8Array(20 * n);

describe("validation", () => {
  it("explains a piece count that does not match the length", async () => {
    const bytes = torrentWith({ name: utf8("x"), length: 40 * KiB, "piece length": 16 * KiB, pieces: hashes(12) });
    await expectMetainfoError(parseTorrentFile(bytes), /piece count 12 does not match total length 40960 at piece length 16384 \(expected 3 pieces\)/);
  });
  it("rejects a pieces field that is not a multiple of 20", async () => {
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), length: 1, "piece length": 16 * KiB, pieces: new Uint8Array(19) })), /not a multiple of 20/);
  });
  it("rejects odd piece lengths", async () => {
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), length: 1, "piece length": 20_000, pieces: hashes(1) })), /power of two/);
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), length: 1, "piece length": 32 * MiB, pieces: hashes(1) })), /power of two/);
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), length: 1, "piece length": 0, pieces: hashes(1) })), /power of two/);
  });
  it("accepts 16 MiB pieces when reading but creates at most 4 MiB", async () => {
    const { info } = await parseTorrentFile(torrentWith({ name: utf8("x"), length: 1, "piece length": 16 * MiB, pieces: hashes(1) }));
    expect(info.pieceLength).toBe(16 * MiB);
    await expectMetainfoError(createTorrentFromBytes("x", [{ path: ["x"], data: new Uint8Array(1) }], 8 * MiB), /4 MiB/);
  });
  it("rejects path segments that would escape the folder", async () => {
    for (const bad of [["..", "etc"], ["a", "."], ["/etc", "passwd"], ["a\\b"], [""], ["nul\0byte"]]) {
      const bytes = torrentWith({
        name: utf8("x"),
        files: [dict({ length: 1, path: bad.map((s) => utf8(s)) })],
        "piece length": 16 * KiB,
        pieces: hashes(1),
      });
      await expectMetainfoError(parseTorrentFile(bytes), /path segment/);
    }
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8(".."), length: 1, "piece length": 16 * KiB, pieces: hashes(1) })), /torrent name/);
    await expectMetainfoError(createTorrentFromBytes("ok", [{ path: ["a/b"], data: new Uint8Array(1) }]), /path separator/);
  });
  it("rejects an empty path list, duplicate paths and a file that is also a folder", async () => {
    const multi = (files: { length: number; path: string[] }[]): Uint8Array =>
      torrentWith({ name: utf8("x"), files: files.map((f) => dict({ length: f.length, path: f.path.map((s) => utf8(s)) })), "piece length": 16 * KiB, pieces: hashes(1) });
    await expectMetainfoError(parseTorrentFile(multi([{ length: 1, path: [] }])), /empty path/);
    await expectMetainfoError(parseTorrentFile(multi([{ length: 1, path: ["a"] }, { length: 1, path: ["a"] }])), /appears twice/);
    await expectMetainfoError(parseTorrentFile(multi([{ length: 1, path: ["a"] }, { length: 1, path: ["a", "b"] }])), /both a file and a folder/);
    await expectMetainfoError(parseTorrentFile(multi([{ length: 1, path: ["a", "b"] }, { length: 1, path: ["a"] }])), /appears twice/);
  });
  it("rejects negative lengths, both length and files, neither, and an empty torrent", async () => {
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), length: -1, "piece length": 16 * KiB, pieces: hashes(1) })), /non-negative/);
    await expectMetainfoError(
      parseTorrentFile(torrentWith({ name: utf8("x"), length: 1, files: [dict({ length: 1, path: [utf8("a")] })], "piece length": 16 * KiB, pieces: hashes(1) })),
      /both 'length' and 'files'/,
    );
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), "piece length": 16 * KiB, pieces: hashes(1) })), /neither/);
    await expectMetainfoError(parseTorrentFile(torrentWith({ name: utf8("x"), length: 0, "piece length": 16 * KiB, pieces: hashes(0) })), /at least one byte/);
    await expectMetainfoError(createTorrentFromBytes("x", [{ path: ["a"], data: new Uint8Array(0) }]), /at least one byte/);
    await expectMetainfoError(createTorrentFromBytes("x", []), /at least one file/);
  });
  it("rejects files that are not bencode, a non-dict, trailing bytes and a missing info", async () => {
    await expectMetainfoError(parseTorrentFile(utf8("hello")), /not a \.torrent file/);
    await expectMetainfoError(parseTorrentFile(utf8("d4:infoi1ee")), /not a dictionary/);
    await expectMetainfoError(parseTorrentFile(utf8("d8:announce3:abce")), /no info/);
    await expectMetainfoError(parseTorrentFile(utf8("d8:announce3:abcexx")), /trailing bytes/);
    await expectMetainfoError(parseTorrentFile(utf8("d8:announce30:abc")), /not a valid \.torrent/);
    await expectMetainfoError(parseTorrentFile(new Uint8Array(0)), /not a \.torrent file/);
  });
  it("checks a BEP 9 info dict against the expected infohash", async () => {
    const info = await createTorrentFromBytes("x", [{ path: ["x"], data: utf8("data") }]);
    const other = infoHashFromHex("0".repeat(40));
    await expectMetainfoError(infoFromBytes(info.infoBytes, other), /not the expected infohash/);
    await expectMetainfoError(infoFromBytes(utf8("d4:name"), undefined), /not valid bencode/);
    expect((await infoFromBytes(info.infoBytes, info.infoHash)).name).toBe("x");
  });
  it("prefers name.utf-8 and path.utf-8 when present", async () => {
    const bytes = torrentWith({
      name: new Uint8Array([0xff, 0xfe]),
      "name.utf-8": utf8("Café"),
      files: [dict({ length: 1, path: [new Uint8Array([0xe9])], "path.utf-8": [utf8("é.txt")] })],
      "piece length": 16 * KiB,
      pieces: hashes(1),
    });
    const { info } = await parseTorrentFile(bytes);
    expect(info.name).toBe("Café");
    expect(info.files[0]!.path).toEqual(["é.txt"]);
  });
  it("buildInfo validates its input and keeps a given single-file choice", async () => {
    await expectMetainfoError(buildInfo({ name: "x", files: [{ path: ["a"], length: 1 }, { path: ["b"], length: 1 }], pieceLength: 16 * KiB, pieceHashes: hashes(1), singleFile: true }), /exactly one file/);
    await expectMetainfoError(buildInfo({ name: "x", files: [{ path: ["a"], length: 1.5 }], pieceLength: 16 * KiB, pieceHashes: hashes(1) }), /non-negative integer/);
    const info = await buildInfo({ name: "x", files: [{ path: ["a"], length: 3 }], pieceLength: 16 * KiB, pieceHashes: hashes(1), singleFile: true });
    expect(info.files).toEqual([{ path: ["x"], length: 3, offset: 0 }]);
    expect(info.isMultiFile).toBe(false);
  });
  it("writes announce-list (BEP 12) and url-list (BEP 19) that read back", async () => {
    const info = await createTorrentFromBytes("x", [{ path: ["x"], data: utf8("data") }]);
    const bytes = encodeTorrentFile(info, { announce: ["ws://127.0.0.1:1", "ws://127.0.0.1:2"], webSeeds: ["http://127.0.0.1/x"] });
    const parsed = await parseTorrentFile(bytes);
    expect(parsed.announce).toEqual(["ws://127.0.0.1:1", "ws://127.0.0.1:2"]);
    expect(parsed.webSeeds).toEqual(["http://127.0.0.1/x"]);
    expect(parsed.comment).toBeUndefined();
    expect(() => encodeTorrentFile(info, { announce: [], creationDateS: -5 })).toThrow(MetainfoError);
  });
});
