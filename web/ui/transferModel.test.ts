import { describe, expect, it } from "vitest";
import type { TransferView } from "../swarm/types.ts";
import { trackerMessage, transferMessages, waitingForPeers } from "./transferModel.ts";

const base = {
  status: "downloading",
  message: null,
  peers: [],
  bannedPeerCount: 0,
  trackers: [],
  unavailablePieceCount: 0,
  unavailableBytes: 0,
  lostPieceCount: 0,
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
  it("says how many pieces no connected peer can give, while downloading with peers", () => {
    const peers = [{}] as unknown as TransferView["peers"];
    expect(texts({ peers, unavailablePieceCount: 12, unavailableBytes: 3_100_000 })).toEqual([
      "12 pieces (3.1 MB) are not available from any connected peer; waiting for a peer that has them.",
    ]);
    expect(texts({ peers, unavailablePieceCount: 1, unavailableBytes: 262_144 })).toEqual(["1 piece (262 kB) is not available from any connected peer; waiting for a peer that has it."]);
    // Not while everything is obtainable, nor when complete, paused or alone (that has its own message).
    expect(texts({ peers, unavailablePieceCount: 0, unavailableBytes: 0 })).toEqual([]);
    expect(texts({ peers, status: "seeding", unavailablePieceCount: 3, unavailableBytes: 3 })).toEqual([]);
    expect(texts({ peers, status: "paused", unavailablePieceCount: 3, unavailableBytes: 3 })).toEqual(["Paused. Press Resume to continue."]);
    expect(texts({ unavailablePieceCount: 3, unavailableBytes: 3 })).toEqual([waitingForPeers]);
  });
  it("tells a sharer its stored copy lost pieces and that they will be downloaded again", () => {
    const peers = [{}] as unknown as TransferView["peers"];
    expect(texts({ name: "holiday", peers, lostPieceCount: 12, unavailablePieceCount: 12, unavailableBytes: 3_100_000 })).toEqual([
      "12 pieces of “holiday” are no longer in this browser's storage (cleared by the browser or another tab); they will be downloaded again from peers.",
      "12 pieces (3.1 MB) are not available from any connected peer; waiting for a peer that has them.",
    ]);
    expect(texts({ name: "holiday", status: "seeding", peers, lostPieceCount: 1 })).toEqual([
      "1 piece of “holiday” is no longer in this browser's storage (cleared by the browser or another tab); it will be downloaded again from peers.",
    ]);
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
