import { describe, expect, it } from "vitest";
import type { TransferView } from "../swarm/types.ts";
import { trackerMessage, transferMessages, waitingForPeers } from "./transferModel.ts";

const base = {
  status: "downloading",
  message: null,
  peers: [],
  bannedPeerCount: 0,
  trackers: [],
} as unknown as TransferView;

const texts = (view: Partial<TransferView>) => transferMessages({ ...base, ...view }, 0).map((m) => m.text);

describe("transferMessages", () => {
  it("asks to keep the sharing page open while there are no peers", () => {
    expect(texts({})).toEqual([waitingForPeers]);
    expect(texts({ status: "fetching-metadata" })).toEqual([waitingForPeers]);
  });
  it("says a storage pause loses nothing, once", () => {
    expect(texts({ status: "paused", message: "browser storage is full" })[0]).toBe(
      "Paused: browser storage is full. Nothing is lost: the pieces already stored are kept. Free some space, then press Resume.",
    );
    expect(texts({ status: "paused", message: "storage is full: 3.6 MiB of this transfer are kept; free space and resume" })[0]).toBe(
      "Paused: storage is full: 3.6 MiB of this transfer are kept; free space and resume.",
    );
  });
  it("says a storage failure other than a full store failed, with the browser's reason, and that Resume retries, not that space is short", () => {
    const message = "saving a downloaded piece in browser storage failed (AbortError: The connection was closed). Press Resume to try again";
    const [text] = texts({ status: "paused", message, fault: "storage-failed" });
    expect(text).toBe(`Paused: ${message}.`);
    expect(text).not.toMatch(/Nothing is lost|Free some space|kept/);
    // A full store keeps its wording when the manager marks it so.
    expect(texts({ status: "paused", message: "storage is full: browser storage is full", fault: "storage-full" })[0]).toMatch(/Nothing is lost: the pieces already stored are kept\. Free some space, then press Resume\.$/);
    // A paused transfer with some other note does not blame storage space either.
    expect(texts({ status: "paused", message: "could not keep a copy of “x” in browser storage (UnknownError); it is seeded while this page stays open" })[0]).toBe(
      "Paused: could not keep a copy of “x” in browser storage (UnknownError); it is seeded while this page stays open. Press Resume to try again.",
    );
  });
  it("counts banned peers in words", () => {
    expect(texts({ status: "seeding", peers: [{}] as unknown as TransferView["peers"], bannedPeerCount: 1 })).toEqual([
      "1 peer sent corrupt data and was banned. Bad pieces were thrown away and fetched again from others.",
    ]);
  });
});

describe("trackerMessage", () => {
  it("replaces the client's static retry delay with a live countdown", () => {
    const m = trackerMessage({ url: "wss://t.example/announce", state: "retrying", retryAtMs: 5_500, message: "cannot reach wss://t.example/announce; retrying in 8 s", seeders: null, leechers: null }, 0);
    expect(m?.text).toBe("Tracker t.example unreachable (cannot reach wss://t.example/announce). Retrying in 6 s; peers already connected keep going.");
  });
  it("says nothing for a connected tracker", () => {
    expect(trackerMessage({ url: "wss://t.example/announce", state: "connected", retryAtMs: null, message: null, seeders: 1, leechers: 0 }, 0)).toBeNull();
  });
});
