// WebTorrent's own browser bundle at both ends (a benchmark opponent, loaded from
// the git-ignored .reference/ folder; never part of SwarmDrop). Only the few
// members the benchmark touches are typed here.
import type { WebTorrentDownloadInit, WebTorrentDownloadResult, WebTorrentSeedInit, WebTorrentSeedResult } from "./api.ts";
import { epochMs } from "./api.ts";
import { makePatternFile } from "./pattern.ts";

interface WtTorrent {
  readonly magnetURI: string;
  readonly infoHash: string;
  readonly length: number;
  readonly pieceLength: number;
  readonly downloaded: number;
  readonly numPeers: number;
  readonly done: boolean;
  on(event: "done" | "ready", listener: () => void): void;
  on(event: "error" | "warning", listener: (err: Error | string) => void): void;
}

interface WtClient {
  seed(input: File, opts: Record<string, unknown>, onSeed: (torrent: WtTorrent) => void): WtTorrent;
  add(torrentId: string, opts: Record<string, unknown>): WtTorrent;
  on(event: "error", listener: (err: Error | string) => void): void;
  destroy(cb?: (err?: Error) => void): void;
}

type WtConstructor = new (opts: Record<string, unknown>) => WtClient;

export class WebTorrentBenchError extends Error {
  override name = "WebTorrentBenchError";
}

let client: WtClient | null = null;

async function makeClient(bundleUrl: string): Promise<WtClient> {
  const mod = (await import(/* @vite-ignore */ bundleUrl)) as { default: WtConstructor };
  // No STUN: the pages reach each other on this machine's own addresses.
  const created = new mod.default({ tracker: { rtcConfig: { iceServers: [] } }, dht: false, lsd: false, utp: false });
  client = created;
  return created;
}

function message(err: Error | string): string {
  return typeof err === "string" ? err : err.message;
}

export async function webtorrentSeed(init: WebTorrentSeedInit): Promise<WebTorrentSeedResult> {
  const wt = await makeClient(init.bundleUrl);
  const file = makePatternFile(init.name, init.totalBytes, init.seed);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    wt.on("error", (err) => reject(new WebTorrentBenchError(`WebTorrent seed: ${message(err)}`)));
    wt.seed(file, { announce: [init.trackerUrl], name: init.name }, (torrent) => {
      resolve({
        magnetURI: torrent.magnetURI,
        infoHash: torrent.infoHash,
        pieceLengthBytes: torrent.pieceLength,
        seedReadyMs: performance.now() - t0,
      });
    });
  });
}

export async function webtorrentDownload(init: WebTorrentDownloadInit): Promise<WebTorrentDownloadResult> {
  const wt = await makeClient(init.bundleUrl);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new WebTorrentBenchError(`WebTorrent download not done within ${init.timeoutMs} ms (${torrent.downloaded} bytes, ${torrent.numPeers} peers)`)),
      init.timeoutMs,
    );
    wt.on("error", (err) => {
      clearTimeout(timer);
      reject(new WebTorrentBenchError(`WebTorrent download: ${message(err)}`));
    });
    const startEpochMs = epochMs();
    const torrent = wt.add(init.magnetURI, { announce: [init.trackerUrl] });
    torrent.on("done", () => {
      const endEpochMs = epochMs();
      clearTimeout(timer);
      if (torrent.downloaded < torrent.length) {
        reject(new WebTorrentBenchError(`"done" after only ${torrent.downloaded} of ${torrent.length} bytes`));
        return;
      }
      resolve({ bytes: torrent.length, downloadedBytes: torrent.downloaded, startEpochMs, endEpochMs, peers: torrent.numPeers });
    });
  });
}

export async function webtorrentDestroy(): Promise<void> {
  const wt = client;
  client = null;
  if (wt) await new Promise<void>((resolve) => wt.destroy(() => resolve()));
}
