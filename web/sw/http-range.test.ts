import { describe, expect, it } from "vitest";
import { mediaKind, mimeType, parseRange, parseStreamPath, streamPath } from "./http-range.ts";

describe("parseRange", () => {
  const size = 1000;
  it("serves the whole body without a Range header", () => {
    expect(parseRange(null, size)).toEqual({ kind: "whole" });
  });
  it("bytes=a-b: those bytes, the end clamped to the body", () => {
    expect(parseRange("bytes=0-499", size)).toEqual({ kind: "range", start: 0, end: 499 });
    expect(parseRange("bytes=500-500", size)).toEqual({ kind: "range", start: 500, end: 500 });
    expect(parseRange("bytes=900-5000", size)).toEqual({ kind: "range", start: 900, end: 999 });
    expect(parseRange(" Bytes = 10-20 ", size)).toEqual({ kind: "range", start: 10, end: 20 });
  });
  it("bytes=a-: from a to the end (what players send first)", () => {
    expect(parseRange("bytes=0-", size)).toEqual({ kind: "range", start: 0, end: 999 });
    expect(parseRange("bytes=999-", size)).toEqual({ kind: "range", start: 999, end: 999 });
  });
  it("bytes=-n: the last n bytes, all of them when n is larger", () => {
    expect(parseRange("bytes=-100", size)).toEqual({ kind: "range", start: 900, end: 999 });
    expect(parseRange("bytes=-5000", size)).toEqual({ kind: "range", start: 0, end: 999 });
  });
  it("unsatisfiable: a start at or past the end, an empty suffix, any range of an empty body", () => {
    expect(parseRange("bytes=1000-", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=1000-2000", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-0", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=-10", 0)).toEqual({ kind: "unsatisfiable" });
  });
  it("invalid headers are ignored (the whole body), as RFC 9110 allows", () => {
    for (const bad of ["bytes=", "bytes=-", "bytes=5-1", "bytes=a-b", "bytes=1-2-3", "items=0-1", "0-100", "bytes=0x10-", "bytes=1 - 2x", `bytes=${"9".repeat(20)}-`]) {
      expect(parseRange(bad, size), bad).toEqual({ kind: "whole" });
    }
  });
  it("several ranges: the first satisfiable one only, as a single part; 416 when none is", () => {
    expect(parseRange("bytes=0-9,20-29", size)).toEqual({ kind: "range", start: 0, end: 9 });
    expect(parseRange("bytes=5000-6000, -10", size)).toEqual({ kind: "range", start: 990, end: 999 });
    expect(parseRange("bytes=0-1,", size)).toEqual({ kind: "range", start: 0, end: 1 });
    expect(parseRange("bytes=2000-,3000-", size)).toEqual({ kind: "unsatisfiable" });
    expect(parseRange("bytes=0-1,oops", size)).toEqual({ kind: "whole" });
  });
});

describe("stream paths", () => {
  const hash = "c9e15763f722f23e98a29decdfae341b98d53056";
  it("round-trips infohash and file number; the name is encoded and only decorative", () => {
    const path = streamPath(hash.toUpperCase(), 3, "My song #1.mp3");
    expect(path).toBe(`/stream/${hash}/3/My%20song%20%231.mp3`);
    expect(parseStreamPath(path)).toEqual({ infoHash: hash, fileIndex: 3 });
    expect(parseStreamPath(`/stream/${hash}/0`)).toEqual({ infoHash: hash, fileIndex: 0 });
  });
  it("refuses anything else", () => {
    for (const bad of ["/", "/stream/", `/stream/${hash}`, `/stream/${hash.slice(1)}/0/x`, `/stream/${hash}/01/x`, `/stream/${hash}/-1/x`, `/stream/${hash}/0/a/b`, `/streams/${hash}/0/x`]) {
      expect(parseStreamPath(bad), bad).toBeNull();
    }
  });
});

describe("mimeType and mediaKind", () => {
  it("types media by extension, case-insensitively", () => {
    expect(mimeType("tone.WAV")).toBe("audio/wav");
    expect(mimeType("a.mp3")).toBe("audio/mpeg");
    expect(mimeType("clip.mp4")).toBe("video/mp4");
    expect(mimeType("clip.webm")).toBe("video/webm");
    expect(mimeType("song.ogg")).toBe("audio/ogg");
    expect(mimeType("notes.txt")).toBe("text/plain");
    expect(mimeType("archive.tar.gz")).toBe("application/octet-stream");
    expect(mimeType("README")).toBe("application/octet-stream");
  });
  it("says which files a media element may play", () => {
    expect(mediaKind("holiday/clip.MKV")).toBe("video");
    expect(mediaKind("a.flac")).toBe("audio");
    expect(mediaKind("a.opus")).toBe("audio");
    expect(mediaKind("photo.jpg")).toBeNull();
    expect(mediaKind("wav")).toBeNull();
  });
});
