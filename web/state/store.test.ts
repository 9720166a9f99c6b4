import { describe, expect, it } from "vitest";
import type { StorageUsage, TransferManager, TransferView } from "../swarm/types.ts";
import { createSwarmStore, defaultShareName } from "./store.ts";

/** Only what these tests drive; the rest of the contract throws if touched. */
function manager(overrides: Partial<TransferManager>): TransferManager {
  const unused = () => {
    throw new Error("not used by this test");
  };
  return {
    share: unused,
    open: unused,
    remove: unused,
    pause: unused,
    resume: unused,
    setFilePriority: unused,
    setUploadLimit: unused,
    fileBlob: unused,
    zipStream: unused,
    streamUrl: unused,
    streamingSupport: unused,
    storageUsage: async (): Promise<StorageUsage> => ({ usedBytes: 0, quotaBytes: null }),
    subscribe: () => () => {},
    unsupportedReason: null,
    ...overrides,
  };
}

const file = (name: string, size = 3) => new File([new Uint8Array(size)], name);

describe("share", () => {
  it("tracks the pending share, and a cancel aborts the manager's signal and says nothing was shared", async () => {
    let seenSignal: AbortSignal | undefined;
    const store = createSwarmStore(
      manager({
        share: (_files, options) =>
          new Promise((_resolve, reject) => {
            seenSignal = options?.signal;
            options?.signal?.addEventListener("abort", () => reject(new DOMException("cancelled", "AbortError")));
          }),
      }),
    );
    const { actions } = store.getState();
    const result = actions.share([{ file: file("a.txt"), path: "docs/a.txt" }, { file: file("b.txt"), path: "docs/b.txt" }]);
    const [pending] = store.getState().pendingShares;
    expect(pending).toMatchObject({ name: "docs", fileCount: 2, totalBytes: 6 });
    actions.cancelShare(pending!.id);
    expect(seenSignal?.aborted).toBe(true);
    expect(await result).toBeNull();
    expect(store.getState().pendingShares).toEqual([]);
    expect(store.getState().notices.map((n) => n.title)).toEqual(["Sharing cancelled"]);
  });

  it("remembers the infohash of a finished share so its link is shown first", async () => {
    const store = createSwarmStore(manager({ share: async () => "f".repeat(40) }));
    expect(await store.getState().actions.share([{ file: file("x.bin"), path: "x.bin" }])).toBe("f".repeat(40));
    expect(store.getState().lastShared).toBe("f".repeat(40));
    expect(store.getState().notices).toEqual([]);
  });

  it("turns a failure into an error notice", async () => {
    const store = createSwarmStore(manager({ share: async () => Promise.reject(new Error("nothing to share: the files are empty")) }));
    expect(await store.getState().actions.share([{ file: file("e", 0), path: "e" }])).toBeNull();
    expect(store.getState().notices[0]).toMatchObject({ kind: "error", title: "Could not share “e”", message: "nothing to share: the files are empty" });
  });
});

describe("receiveTransfers", () => {
  it("replaces the map (never mutates it) and keeps the manager's order", () => {
    let push: (views: readonly TransferView[]) => void = () => {};
    const store = createSwarmStore(manager({ subscribe: (l) => ((push = l), () => {}) }));
    const stop = store.connect();
    const a = { infoHash: "a".repeat(40), name: "A" } as TransferView;
    const b = { infoHash: "b".repeat(40), name: "B" } as TransferView;
    push([a]);
    const first = store.getState().transfers;
    push([b, a]);
    expect(store.getState().transfers).not.toBe(first);
    expect(first.size).toBe(1);
    expect(store.getState().transferOrder).toEqual([b.infoHash, a.infoHash]);
    const order = store.getState().transferOrder;
    const map = store.getState().transfers;
    push([b, a]);
    expect(store.getState().transfers).toBe(map);
    expect(store.getState().transferOrder).toBe(order);
    stop();
  });
});

describe("defaultShareName", () => {
  it("names a share as the manager will", () => {
    expect(defaultShareName([{ file: file("a"), path: "pics/a" }, { file: file("b"), path: "pics/x/b" }])).toBe("pics");
    expect(defaultShareName([{ file: file("a"), path: "a" }])).toBe("a");
    expect(defaultShareName([{ file: file("a"), path: "a" }, { file: file("b"), path: "b" }])).toBe("2 files");
  });
});

describe("storage usage", () => {
  it("is re-read when the transfers' stored bytes change", async () => {
    let reads = 0;
    let push: (views: readonly TransferView[]) => void = () => {};
    const store = createSwarmStore(
      manager({
        subscribe: (l) => ((push = l), () => {}),
        storageUsage: async () => ({ usedBytes: ++reads * 1000, quotaBytes: 10_000 }),
      }),
    );
    const stop = store.connect();
    await Promise.resolve();
    const before = reads;
    push([{ infoHash: "c".repeat(40), storedBytes: 5000 } as TransferView]);
    await Promise.resolve();
    expect(reads).toBe(before + 1);
    await Promise.resolve();
    expect(store.getState().storage?.usedBytes).toBe(reads * 1000);
    stop();
  });
});
