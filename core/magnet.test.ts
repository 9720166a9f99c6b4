import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MagnetError, formatMagnet, parseMagnet, parseShareFragment, type MagnetLink } from "./magnet.ts";
import { infoHashFromHex } from "./ids.ts";
import { toHex } from "./bytes.ts";

// The Sintel magnet WebTorrent publishes on webtorrent.io (several tr= and a ws=).
const SINTEL =
  "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&dn=Sintel&tr=udp%3A%2F%2Fexplodie.org%3A6969&tr=udp%3A%2F%2Ftracker.coppersurfer.tk%3A6969&tr=udp%3A%2F%2Ftracker.empire-js.us%3A1337&tr=udp%3A%2F%2Ftracker.leechers-paradise.org%3A6969&tr=udp%3A%2F%2Ftracker.opentrackr.org%3A1337&tr=wss%3A%2F%2Ftracker.btorrent.xyz&tr=wss%3A%2F%2Ftracker.fastcast.nz&tr=wss%3A%2F%2Ftracker.openwebtorrent.com&ws=https%3A%2F%2Fwebtorrent.io%2Ftorrents%2F&xs=https%3A%2F%2Fwebtorrent.io%2Ftorrents%2Fsintel.torrent";

describe("parseMagnet", () => {
  it("reads WebTorrent's published Sintel magnet", () => {
    const link = parseMagnet(SINTEL);
    expect(link.infoHash).toBe("08ada5a7a6183aae1e09d831df6748d566095a10");
    expect(link.displayName).toBe("Sintel");
    expect(link.trackers).toEqual([
      "udp://explodie.org:6969",
      "udp://tracker.coppersurfer.tk:6969",
      "udp://tracker.empire-js.us:1337",
      "udp://tracker.leechers-paradise.org:6969",
      "udp://tracker.opentrackr.org:1337",
      "wss://tracker.btorrent.xyz",
      "wss://tracker.fastcast.nz",
      "wss://tracker.openwebtorrent.com",
    ]);
    expect(link.webSeeds).toEqual(["https://webtorrent.io/torrents/"]);
    expect(link.exactLength).toBeUndefined();
  });

  it("reads a base32 infohash (the magnet-uri test vector)", () => {
    const link = parseMagnet("magnet:?xt=urn:btih:QHQXPYWMACKDWKP47RRVIV7VOURXFE5Q&dn=Leaves+of+Grass+by+Walt+Whitman.epub");
    expect(link.infoHash).toBe("81e177e2cc00943b29fcfc635457f575237293b0");
    expect(link.displayName).toBe("Leaves of Grass by Walt Whitman.epub");
    // Lower-case base32 is the same hash.
    expect(parseMagnet("magnet:?xt=urn:btih:qhqxpywmackdwkp47rrviv7vourxfe5q").infoHash).toBe(link.infoHash);
  });

  it("reads xl, upper-case hex, numbered tr.N keys and a hybrid v1/v2 link", () => {
    const link = parseMagnet(
      "MAGNET:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e&xt=urn:btih:08ADA5A7A6183AAE1E09D831DF6748D566095A10&xl=5490455272&tr.1=wss%3A%2F%2Fa&tr.2=wss%3A%2F%2Fb&tr=wss%3A%2F%2Fa",
    );
    expect(link.infoHash).toBe("08ada5a7a6183aae1e09d831df6748d566095a10");
    expect(link.exactLength).toBe(5490455272);
    expect(link.trackers).toEqual(["wss://a", "wss://b"]);
  });

  it("reads a magnet written by the webtorrent-fixtures package (parse-torrent's toMagnetURI)", () => {
    const link = parseMagnet(
      "magnet:?xt=urn:btih:af8f10f30bf9aefecf3686922bfa0d5bd290a395&dn=bbb_sunflower_1080p_30fps_stereo_abl.mp4&ws=http%3A%2F%2Fdistribution.bbb3d.renderfarming.net%2Fvideo%2Fmp4%2Fbbb_sunflower_1080p_30fps_stereo_abl.mp4",
    );
    expect(link.infoHash).toBe("af8f10f30bf9aefecf3686922bfa0d5bd290a395");
    expect(link.webSeeds).toEqual(["http://distribution.bbb3d.renderfarming.net/video/mp4/bbb_sunflower_1080p_30fps_stereo_abl.mp4"]);
    expect(link.trackers).toEqual([]);
  });

  const malformed: [label: string, text: string, message: RegExp][] = [
    ["not a magnet", "https://example.com/?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10", /not a magnet link/],
    ["no xt", "magnet:?dn=Sintel&tr=wss%3A%2F%2Fa", /no infohash/],
    ["v2 only", "magnet:?xt=urn:btmh:1220caf1e1c30e81cb361b9ee167c4aa64228a7fa4fa9f6105232b28ad099f3a302e", /v2-only/],
    ["short hex", "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a1", /40 characters, got 39/],
    ["long hex", "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a100", /40 characters, got 41/],
    ["bad base32", "magnet:?xt=urn:btih:QHQXPYWMACKDWKP47RRVIV7VOURXFE51", /not valid base32/],
    ["empty hash", "magnet:?xt=urn:btih:", /40 hex or 32 base32/],
    ["bad percent-encoding", "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&dn=%E0%A4%A", /broken percent-encoding/],
    ["bad xl", "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&xl=-5", /xl/],
    ["two hashes", "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&xt=urn:btih:QHQXPYWMACKDWKP47RRVIV7VOURXFE5Q", /two different/],
    ["empty", "", /not a magnet link/],
  ];
  for (const [label, text, message] of malformed) {
    it(`rejects ${label} with a MagnetError`, () => {
      expect(() => parseMagnet(text)).toThrow(MagnetError);
      expect(() => parseMagnet(text)).toThrow(message);
    });
  }

  it("never throws anything but MagnetError on arbitrary input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `magnet:?${s}`), fc.string().map((s) => `magnet:?xt=urn:btih:${s}&${s}`)), (text) => {
        try {
          parseMagnet(text);
        } catch (err) {
          expect(err).toBeInstanceOf(MagnetError);
        }
        try {
          parseShareFragment(text);
        } catch (err) {
          expect(err).toBeInstanceOf(MagnetError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

const magnetLink: fc.Arbitrary<MagnetLink> = fc
  .record(
    {
      infoHash: fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => infoHashFromHex(toHex(b))),
      displayName: fc.string({ unit: "grapheme", maxLength: 30 }),
      trackers: fc.uniqueArray(fc.oneof(fc.webUrl(), fc.constantFrom("ws://127.0.0.1:8000/announce", "wss://t.example/?a=1&b=2 c")), { maxLength: 4 }),
      exactLength: fc.maxSafeNat(),
      webSeeds: fc.uniqueArray(fc.webUrl({ withQueryParameters: true, withFragments: true }), { maxLength: 2 }),
    },
    { requiredKeys: ["infoHash", "trackers", "webSeeds"] },
  )
  .map((l) => ({ ...l, trackers: l.trackers.map((t) => t.trim()).filter((t) => t !== ""), webSeeds: l.webSeeds.map((w) => w.trim()).filter((w) => w !== "") }));

describe("formatMagnet", () => {
  it("round-trips through parseMagnet", () => {
    fc.assert(
      fc.property(magnetLink, (link) => {
        expect(parseMagnet(formatMagnet(link))).toEqual(link);
      }),
      { numRuns: 500 },
    );
  });

  it("puts xt first, then dn, xl, tr, ws, and writes spaces as +", () => {
    const text = formatMagnet({
      infoHash: infoHashFromHex("08ada5a7a6183aae1e09d831df6748d566095a10"),
      displayName: "a b+c&d",
      trackers: ["wss://x/y?z=1&q", "ws://127.0.0.1:8000"],
      exactLength: 42,
      webSeeds: ["https://w/"],
    });
    expect(text).toBe(
      "magnet:?xt=urn:btih:08ada5a7a6183aae1e09d831df6748d566095a10&dn=a+b%2Bc%26d&xl=42&tr=wss%3A%2F%2Fx%2Fy%3Fz%3D1%26q&tr=ws%3A%2F%2F127.0.0.1%3A8000&ws=https%3A%2F%2Fw%2F",
    );
  });
});

describe("parseShareFragment", () => {
  const hash = "08ada5a7a6183aae1e09d831df6748d566095a10";
  it("reads #magnet:?..., magnet:?..., a whole URL and a bare infohash", () => {
    expect(parseShareFragment(`#magnet:?xt=urn:btih:${hash}&dn=x`).displayName).toBe("x");
    expect(parseShareFragment(`magnet:?xt=urn:btih:${hash}`).infoHash).toBe(hash);
    expect(parseShareFragment(`http://127.0.0.1:8000/#magnet:?xt=urn:btih:${hash}&tr=ws%3A%2F%2F127.0.0.1%3A8000`).trackers).toEqual(["ws://127.0.0.1:8000"]);
    expect(parseShareFragment(`#magnet%3A%3Fxt%3Durn%3Abtih%3A${hash}`).infoHash).toBe(hash);
    expect(parseShareFragment(`#${hash.toUpperCase()}`)).toEqual({ infoHash: hash, trackers: [], webSeeds: [] });
    expect(parseShareFragment("QHQXPYWMACKDWKP47RRVIV7VOURXFE5Q").infoHash).toBe("81e177e2cc00943b29fcfc635457f575237293b0");
  });
  it("rejects empty and unrelated fragments with a MagnetError", () => {
    for (const bad of ["", "#", "#about", `#${hash.slice(1)}`, "#magnet:?dn=x"]) {
      expect(() => parseShareFragment(bad)).toThrow(MagnetError);
    }
  });
});
