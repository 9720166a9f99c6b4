import { describe, expect, it } from "vitest";
import { ExitCode, UsageError, defaultTrackerUrl, parseArgs, parseByteSize } from "./args.ts";

describe("parseArgs", () => {
  it("parses seed with paths and every option", () => {
    const cmd = parseArgs([
      "seed",
      "a.txt",
      "photos",
      "--tracker",
      "ws://127.0.0.1:9000",
      "--tracker=wss://t.example/announce",
      "--resume",
      "--name",
      "holiday",
      "--piece-length=256KiB",
      "--torrent-out",
      "x.torrent",
      "--state-dir",
      "/tmp/s",
      "--app-url",
      "http://127.0.0.1:9000/",
      "--no-qr",
      "--super-seed",
    ]);
    expect(cmd).toEqual({
      kind: "seed",
      paths: ["a.txt", "photos"],
      trackers: ["ws://127.0.0.1:9000", "wss://t.example/announce"],
      resume: true,
      name: "holiday",
      pieceLengthBytes: 256 * 1024,
      torrentOut: "x.torrent",
      superSeed: true,
      stateDir: "/tmp/s",
      appUrl: "http://127.0.0.1:9000/",
      qr: false,
    });
  });

  it("fills defaults: the local tracker, QR on, no resume", () => {
    expect(parseArgs(["seed", "f"])).toMatchObject({ trackers: [defaultTrackerUrl], resume: false, qr: true, name: null, pieceLengthBytes: null, stateDir: null, appUrl: null, superSeed: false });
    expect(() => parseArgs(["get", "x.torrent", "--super-seed"])).toThrow(UsageError);
    expect(parseArgs(["get", "magnet:?xt=urn:btih:QHQXPYWMACKDWKP47RRVIV7VOURXFE5Q"])).toEqual({
      kind: "get",
      source: "magnet:?xt=urn:btih:QHQXPYWMACKDWKP47RRVIV7VOURXFE5Q",
      outDir: ".",
      seed: false,
      trackers: [defaultTrackerUrl],
      stateDir: null,
      appUrl: null,
      qr: true,
    });
  });

  it("parses get with --out and --seed, options before or after the link", () => {
    expect(parseArgs(["get", "--out", "dl", "x.torrent", "--seed"])).toMatchObject({ kind: "get", source: "x.torrent", outDir: "dl", seed: true });
  });

  it("treats everything after -- as paths, even names that start with a dash", () => {
    expect(parseArgs(["seed", "--", "--weird-name", "-x"])).toMatchObject({ paths: ["--weird-name", "-x"] });
  });

  it("answers --help, help <cmd>, <cmd> --help and --version", () => {
    expect(parseArgs(["--help"])).toEqual({ kind: "help", topic: null });
    expect(parseArgs(["-h"])).toEqual({ kind: "help", topic: null });
    expect(parseArgs(["help", "get"])).toEqual({ kind: "help", topic: "get" });
    expect(parseArgs(["seed", "--help"])).toEqual({ kind: "help", topic: "seed" });
    expect(parseArgs(["--version"])).toEqual({ kind: "version" });
  });

  const bad: [argv: string[], message: RegExp][] = [
    [[], /no command/],
    [["share", "x"], /unknown command "share"/],
    [["seed"], /at least one file or folder/],
    [["get"], /needs a link/],
    [["get", "a", "b"], /one link, got 2/],
    [["seed", "f", "--frobnicate"], /unknown option --frobnicate/],
    [["seed", "f", "-x"], /unknown option "-x"/],
    [["seed", "f", "--out", "d"], /--out is not an option of seed/],
    [["get", "l", "--resume"], /--resume is not an option of get/],
    [["seed", "f", "--tracker"], /--tracker needs a value/],
    [["seed", "f", "--tracker", "--resume"], /--tracker needs a value/],
    [["seed", "f", "--tracker", "http://x"], /must be a WebSocket URL/],
    [["seed", "f", "--tracker", "not a url"], /not a URL/],
    [["seed", "f", "--app-url", "ftp://x"], /http/],
    [["seed", "f", "--piece-length", "20000"], /power of two from 16 KiB to 4 MiB/],
    [["seed", "f", "--piece-length", "8MiB"], /power of two/],
    [["seed", "f", "--piece-length", "lots"], /not a size/],
    [["seed", "f", "--name", "a/b"], /plain name/],
    [["seed", "f", "--resume=yes"], /takes no value/],
    [["get", "l", "--out", "a", "--out", "b"], /given 2 times/],
    [["help", "frob"], /no help for "frob"/],
  ];
  for (const [argv, message] of bad) {
    it(`rejects ${JSON.stringify(argv)} with a UsageError`, () => {
      expect(() => parseArgs(argv)).toThrow(UsageError);
      expect(() => parseArgs(argv)).toThrow(message);
    });
  }

  it("dedupes repeated trackers, keeping order", () => {
    expect(parseArgs(["seed", "f", "--tracker", "ws://127.0.0.1:1", "--tracker", "ws://127.0.0.1:2", "--tracker", "ws://127.0.0.1:1"])).toMatchObject({
      trackers: ["ws://127.0.0.1:1", "ws://127.0.0.1:2"],
    });
  });
});

describe("parseByteSize", () => {
  it("reads plain bytes and KiB/MiB suffixes", () => {
    expect(parseByteSize("16384")).toBe(16384);
    expect(parseByteSize("16k")).toBe(16384);
    expect(parseByteSize("256KiB")).toBe(262144);
    expect(parseByteSize("4 MiB")).toBe(4 * 1024 * 1024);
    expect(() => parseByteSize("1.5MiB")).toThrow(UsageError);
  });
});

describe("exit codes", () => {
  it("are distinct, so a script can tell failures apart", () => {
    const values = Object.values(ExitCode);
    expect(new Set(values).size).toBe(values.length);
    expect(ExitCode.ok).toBe(0);
    expect(ExitCode.interrupted).toBe(130);
  });
});
