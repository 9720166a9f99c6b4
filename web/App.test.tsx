// @vitest-environment jsdom
// The page against the TransferManager contract: a manager of the test's own
// that records calls and lets the test publish TransferView projections.
import { act, cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App.tsx";
import { SwarmProvider } from "./state/context.tsx";
import { createSwarmStore } from "./state/store.ts";
import type { StorageUsage, TransferManager, TransferView } from "./swarm/types.ts";

afterEach(() => {
  cleanup();
  window.location.hash = "";
  localStorage.clear();
});

class RecordingManager implements TransferManager {
  unsupportedReason: string | null = null;
  calls: string[] = [];
  openError: Error | null = null;
  private listener: ((t: readonly TransferView[]) => void) | null = null;
  publish(views: readonly TransferView[]) {
    act(() => this.listener?.(views));
  }
  shareSignal: AbortSignal | undefined;
  share(files: readonly { readonly file: File; readonly path: string }[], options?: { readonly signal?: AbortSignal }): Promise<string> {
    this.calls.push(`share ${files.map((f) => f.path).join(",")}`);
    this.shareSignal = options?.signal;
    return new Promise((_resolve, reject) => options?.signal?.addEventListener("abort", () => reject(new DOMException("cancelled", "AbortError"))));
  }
  async open(source: { readonly link: string } | { readonly torrentFile: File }): Promise<string> {
    this.calls.push(`open ${"link" in source ? source.link : source.torrentFile.name}`);
    if (this.openError) throw this.openError;
    return "ab".repeat(20);
  }
  async remove(infoHash: string) {
    this.calls.push(`remove ${infoHash}`);
  }
  pause(infoHash: string) {
    this.calls.push(`pause ${infoHash}`);
  }
  resume(infoHash: string) {
    this.calls.push(`resume ${infoHash}`);
  }
  setFilePriority(infoHash: string, fileIndex: number, priority: string) {
    this.calls.push(`priority ${infoHash} ${fileIndex} ${priority}`);
  }
  setUploadLimit(bytesPerS: number | null) {
    this.calls.push(`uploadLimit ${bytesPerS}`);
  }
  async fileBlob(infoHash: string, fileIndex: number): Promise<Blob> {
    this.calls.push(`fileBlob ${infoHash} ${fileIndex}`);
    return new Blob(["x"]);
  }
  zipStream(): ReadableStream<Uint8Array> {
    return new ReadableStream();
  }
  streamingReason: string | null = null;
  async streamUrl(infoHash: string, fileIndex: number): Promise<string> {
    this.calls.push(`streamUrl ${infoHash} ${fileIndex}`);
    return this.streamingReason === null ? `/stream/${infoHash}/${fileIndex}/b.mp4` : "blob:none";
  }
  async streamingSupport(): Promise<string | null> {
    return this.streamingReason;
  }
  async storageUsage(): Promise<StorageUsage> {
    return { usedBytes: 12_300_000, quotaBytes: 1_000_000_000 };
  }
  subscribe(listener: (t: readonly TransferView[]) => void) {
    this.listener = listener;
    return () => {
      this.listener = null;
    };
  }
}

const hash = "0123456789abcdef0123456789abcdef01234567";

function view(overrides: Partial<TransferView> = {}): TransferView {
  return {
    infoHash: hash,
    name: "holiday",
    status: "downloading",
    message: null,
    shareLink: `http://localhost/#magnet:?xt=urn:btih:${hash}&dn=holiday`,
    hashing: null,
    totalBytes: 3_000_000,
    verifiedBytes: 1_500_000,
    files: [
      { index: 0, path: "holiday/a.jpg", lengthBytes: 1_000_000, progress: 1, complete: true, priority: "normal", streamable: false },
      { index: 1, path: "holiday/sub/b.mp4", lengthBytes: 2_000_000, progress: 0.25, complete: false, priority: "normal", streamable: true },
    ],
    pieceCount: 4,
    pieceStates: Uint8Array.of(2, 2, 1, 0),
    availability: Uint16Array.of(1, 1, 1, 1),
    downloadRateBytesPerS: 500_000,
    uploadRateBytesPerS: 0,
    downloadedBytes: 1_500_000,
    uploadedBytes: 0,
    etaS: 3,
    speedHistory: [],
    peers: [],
    bannedPeerCount: 0,
    trackers: [],
    storedBytes: 1_500_000,
    unavailablePieceCount: 0,
    unavailableBytes: 0,
    lostPieceCount: 0,
    ...overrides,
  };
}

function renderApp(manager: RecordingManager) {
  const store = createSwarmStore(manager);
  const disconnect = store.connect();
  const result = render(
    <SwarmProvider store={store}>
      <App />
    </SwarmProvider>,
  );
  return { store, disconnect, ...result };
}

describe("<App>", () => {
  it("shows the heading, the pickers and the link field", () => {
    const { disconnect } = renderApp(new RecordingManager());
    expect(screen.getByRole("heading", { name: "SwarmDrop" })).toBeTruthy();
    expect(screen.getByLabelText("Add files")).toBeTruthy();
    expect(screen.getByLabelText("Add folder").hasAttribute("webkitdirectory")).toBe(true);
    expect(screen.getByRole("button", { name: /Drop files or a folder/ }).tabIndex).toBe(0);
    disconnect();
  });

  it("opens the link in the fragment and explains why a bad one fails", async () => {
    const manager = new RecordingManager();
    manager.openError = new Error('not a SwarmDrop link: expected "#magnet:?xt=urn:btih:..." or an infohash, got "nope"');
    window.location.hash = "#nope";
    const { disconnect } = renderApp(manager);
    const alert = await screen.findByRole("alert");
    expect(manager.calls).toContain("open nope");
    expect(alert.textContent).toContain("This share link cannot be opened");
    expect(alert.textContent).toContain("Not a SwarmDrop link");
    disconnect();
  });

  it("opens a new link in the same page when the fragment changes", async () => {
    const manager = new RecordingManager();
    const { disconnect } = renderApp(manager);
    expect(manager.calls.filter((c) => c.startsWith("open"))).toEqual([]);
    const link = `magnet:?xt=urn:btih:${hash}&dn=holiday`;
    window.location.hash = `#${link}`;
    await waitFor(() => expect(manager.calls).toContain(`open ${link}`));
    disconnect();
  });

  it("caps each transfer's upload from the “Upload limit (KiB/s)” field, remembers it across reloads, and explains bad input", () => {
    const manager = new RecordingManager();
    const first = renderApp(manager);
    const field = screen.getByLabelText("Upload limit (KiB/s)") as HTMLInputElement;
    expect(field.value).toBe("");
    expect(manager.calls.filter((c) => c.startsWith("uploadLimit"))).toEqual([]);

    fireEvent.change(field, { target: { value: "512" } });
    expect(manager.calls.filter((c) => c.startsWith("uploadLimit"))).toEqual(["uploadLimit 524288"]);
    expect(screen.queryByRole("alert")).toBeNull();
    expect(field.getAttribute("aria-invalid")).toBe("false");

    fireEvent.change(field, { target: { value: "-5" } });
    expect(screen.getByRole("alert").textContent).toMatch(/cannot be negative/);
    expect(field.getAttribute("aria-invalid")).toBe("true");
    fireEvent.change(field, { target: { value: "fast" } });
    expect(screen.getByRole("alert").textContent).toMatch(/“fast” is not a number/);
    fireEvent.change(field, { target: { value: "0" } });
    expect(screen.getByRole("alert").textContent).toMatch(/at least 1 KiB\/s/);
    // Bad input leaves the limit that was applied alone.
    expect(manager.calls.filter((c) => c.startsWith("uploadLimit"))).toEqual(["uploadLimit 524288"]);

    fireEvent.change(field, { target: { value: "1.5" } });
    expect(screen.queryByRole("alert")).toBeNull();
    expect(manager.calls.at(-1)).toBe("uploadLimit 1536");
    first.disconnect();
    first.unmount();

    // A reload: the limit is applied to the new page's transfers before any starts, and shown.
    const reloaded = new RecordingManager();
    const second = renderApp(reloaded);
    expect(reloaded.calls).toContain("uploadLimit 1536");
    const again = screen.getByLabelText("Upload limit (KiB/s)") as HTMLInputElement;
    expect(again.value).toBe("1.5");

    fireEvent.change(again, { target: { value: "" } });
    expect(reloaded.calls.at(-1)).toBe("uploadLimit null");
    second.disconnect();
    second.unmount();
    const third = new RecordingManager();
    const last = renderApp(third);
    expect(third.calls.filter((c) => c.startsWith("uploadLimit"))).toEqual([]);
    expect((screen.getByLabelText("Upload limit (KiB/s)") as HTMLInputElement).value).toBe("");
    last.disconnect();
  });

  it("shows a transfer as a named region with progress, files and a Save button for complete files", async () => {
    const manager = new RecordingManager();
    const { disconnect } = renderApp(manager);
    manager.publish([view()]);
    const region = screen.getByRole("region", { name: "holiday" });
    const bar = within(region).getByRole("progressbar", { name: "holiday progress" });
    expect(bar.getAttribute("aria-valuenow")).toBe("50");
    expect(within(region).getByText("a.jpg")).toBeTruthy();
    expect(within(region).getByText("sub/b.mp4")).toBeTruthy();
    expect(within(region).queryByRole("button", { name: "Save sub/b.mp4" })).toBeNull();
    expect(within(region).getByRole("button", { name: "Play sub/b.mp4" })).toBeTruthy();
    expect(within(region).getByRole("table", { name: "Peers" })).toBeTruthy();
    expect(within(region).getByRole("img", { name: /^Piece map: 2 of 4 pieces verified/ })).toBeTruthy();
    expect(within(region).getByText("Waiting for peers — keep this page open on the sharing device")).toBeTruthy();
    expect((within(region).getByLabelText("Share link") as HTMLInputElement).value).toContain(hash);

    fireEvent.change(within(region).getByRole("combobox", { name: "Priority of sub/b.mp4" }), { target: { value: "skip" } });
    expect(manager.calls).toContain(`priority ${hash} 1 skip`);
    expect(within(region).queryByRole("combobox", { name: "Priority of a.jpg" })).toBeNull();

    URL.createObjectURL = vi.fn(() => "blob:test");
    URL.revokeObjectURL = vi.fn();
    fireEvent.click(within(region).getByRole("button", { name: "Save a.jpg" }));
    await vi.waitFor(() => expect(manager.calls).toContain(`fileBlob ${hash} 0`));
    disconnect();
  });

  it("plays a media file while it downloads: Play opens a player on the /stream/ URL, Close player closes it", async () => {
    const manager = new RecordingManager();
    const { disconnect } = renderApp(manager);
    manager.publish([view()]);
    const region = screen.getByRole("region", { name: "holiday" });
    fireEvent.click(within(region).getByRole("button", { name: "Play sub/b.mp4" }));
    const player = await within(region).findByLabelText("Playing sub/b.mp4");
    expect(player.tagName).toBe("VIDEO");
    expect(player.getAttribute("src")).toBe(`/stream/${hash}/1/b.mp4`);
    expect(within(region).queryByText(/Plays once downloaded/)).toBeNull();
    fireEvent.click(within(region).getByRole("button", { name: "Close player sub/b.mp4" }));
    expect(within(region).queryByLabelText("Playing sub/b.mp4")).toBeNull();
    expect(within(region).getByRole("button", { name: "Play sub/b.mp4" })).toBeTruthy();
    disconnect();
  });

  it("where no Service Worker can run, says the file plays once downloaded, and why", async () => {
    const manager = new RecordingManager();
    manager.streamingReason = "this page is not a secure context (it needs https:// or localhost)";
    const { disconnect } = renderApp(manager);
    manager.publish([view()]);
    const region = screen.getByRole("region", { name: "holiday" });
    expect(await within(region).findByText(/Plays once downloaded: playing while downloading is unavailable because this page is not a secure context/)).toBeTruthy();
    expect(within(region).getByRole("button", { name: "Play sub/b.mp4" })).toBeTruthy();
    disconnect();
  });

  it("asks before removing a transfer and its data", async () => {
    const manager = new RecordingManager();
    const { disconnect } = renderApp(manager);
    manager.publish([view()]);
    fireEvent.click(screen.getByRole("button", { name: "Remove…" }));
    expect(manager.calls.some((c) => c.startsWith("remove"))).toBe(false);
    const dialog = screen.getByRole("alertdialog", { name: "Remove holiday?" });
    expect(dialog.textContent).toContain("1.5 MB of stored data");
    fireEvent.click(within(dialog).getByRole("button", { name: "Remove" }));
    await vi.waitFor(() => expect(manager.calls).toContain(`remove ${hash}`));
    await vi.waitFor(() => expect(screen.queryByRole("region", { name: "holiday" })).toBeNull());
    disconnect();
  });

  it("explains a storage-full pause, corrupt peers and a retrying tracker with a countdown", () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ["Date", "setInterval", "clearInterval", "setTimeout", "clearTimeout"] });
    try {
      const manager = new RecordingManager();
      const { disconnect } = renderApp(manager);
      manager.publish([
        view({
          status: "paused",
          message: "Browser storage is full.",
          bannedPeerCount: 2,
          trackers: [{ url: "ws://tracker.example:8000/announce", state: "retrying", retryAtMs: 1_010_000, message: "connection refused; retrying in 10 s", seeders: null, leechers: null }],
        }),
      ]);
      const region = screen.getByRole("region", { name: "holiday" });
      expect(within(region).getByText(/Paused: Browser storage is full\. Nothing is lost/)).toBeTruthy();
      expect(within(region).getByText(/2 peers sent corrupt data and were banned/)).toBeTruthy();
      expect(within(region).getByText("Tracker tracker.example:8000 unreachable (connection refused). Retrying in 10 s; peers already connected keep going.")).toBeTruthy();
      act(() => vi.advanceTimersByTime(3000));
      expect(within(region).getByText(/Retrying in 7 s/)).toBeTruthy();
      fireEvent.click(within(region).getByRole("button", { name: "Resume" }));
      expect(manager.calls).toContain(`resume ${hash}`);
      disconnect();
    } finally {
      vi.useRealTimers();
    }
  });

  it("shares picked files, shows hashing progress with a Cancel button, and cancels", async () => {
    const manager = new RecordingManager();
    const { disconnect } = renderApp(manager);
    const input = screen.getByLabelText("Add files") as HTMLInputElement;
    fireEvent.change(input, { target: { files: [new File(["abc"], "movie.mkv")] } });
    expect(manager.calls).toContain("share movie.mkv");
    // Before the manager lists it, the page shows the share as hashing, size unknown.
    const pending = screen.getByRole("region", { name: "movie.mkv" });
    expect(within(pending).getByRole("progressbar", { name: "Hashing movie.mkv" }).hasAttribute("aria-valuenow")).toBe(false);
    manager.publish([view({ name: "movie.mkv", status: "hashing", hashing: { doneBytes: 250, totalBytes: 1000 }, files: [] })]);
    const region = screen.getByRole("region", { name: "movie.mkv" });
    expect(within(region).getByRole("progressbar", { name: "Hashing movie.mkv" }).getAttribute("aria-valuenow")).toBe("25");
    expect(within(region).queryByRole("table", { name: "Peers" })).toBeNull();
    fireEvent.click(within(region).getByRole("button", { name: "Cancel" }));
    expect(manager.shareSignal?.aborted).toBe(true);
    expect(await screen.findByText("Sharing cancelled")).toBeTruthy();
    disconnect();
  });

  it("tells a person when the browser cannot run SwarmDrop", () => {
    const manager = new RecordingManager();
    manager.unsupportedReason = "This browser has no WebRTC data channels.";
    const { disconnect } = renderApp(manager);
    expect(screen.getByRole("alert").textContent).toContain("This browser has no WebRTC data channels.");
    expect(screen.queryByLabelText("Add files")).toBeNull();
    disconnect();
  });

  it("shows storage use from the manager", async () => {
    const { disconnect } = renderApp(new RecordingManager());
    expect(await screen.findByText("SwarmDrop stores 12.3 MB of 1.0 GB available")).toBeTruthy();
    disconnect();
  });
});
