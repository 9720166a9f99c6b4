// Benchmark part: the same transfer with WebTorrent's browser bundle at both
// ends, through the run's WebSocket tracker, timed in the downloader from
// client.add() to the torrent's "done".
import type { BenchBrowser, BenchTracker, StaticServer } from "./harness.ts";
import { existsSync } from "node:fs";
import { callPage, closePage, NotAvailableError, openBenchPage, webtorrentBundlePath } from "./harness.ts";
import { browserCpuMeter } from "./process-cpu.ts";
import type { TransferMeasurement } from "./ratios.ts";

export class WebTorrentBenchError extends Error {
  override name = "WebTorrentBenchError";
}

export interface WebTorrentResult extends TransferMeasurement {
  pieceLengthBytes: number;
  seedReadyMs: number;
}

export async function measureWebTorrent(
  bb: BenchBrowser,
  server: StaticServer,
  tracker: BenchTracker,
  sizeBytes: number,
  seed = 2,
): Promise<WebTorrentResult> {
  if (!existsSync(webtorrentBundlePath)) {
    throw new NotAvailableError("not available: WebTorrent's bundle is not in .reference/ (run scripts/install-reference.sh)");
  }
  const seeder = await openBenchPage(bb, server);
  const downloader = await openBenchPage(bb, server);
  try {
    const seeded = await callPage(seeder, "webtorrentSeed", {
      totalBytes: sizeBytes,
      seed,
      name: `bench-webtorrent-${sizeBytes}.bin`,
      trackerUrl: tracker.announceUrl,
      bundleUrl: server.webtorrentBundleUrl,
    });
    const cpu = browserCpuMeter();
    cpu.start();
    const got = await callPage(downloader, "webtorrentDownload", {
      magnetURI: seeded.magnetURI,
      trackerUrl: tracker.announceUrl,
      bundleUrl: server.webtorrentBundleUrl,
      timeoutMs: 20 * 60_000,
    });
    const cpuSeconds = cpu.stop();
    if (got.bytes !== sizeBytes) throw new WebTorrentBenchError(`WebTorrent's torrent holds ${got.bytes} bytes, expected ${sizeBytes}`);
    return {
      bytes: got.bytes,
      durationMs: got.endEpochMs - got.startEpochMs,
      pieceLengthBytes: seeded.pieceLengthBytes,
      seedReadyMs: seeded.seedReadyMs,
      ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
    };
  } finally {
    await callPage(downloader, "webtorrentDestroy").catch(() => undefined);
    await callPage(seeder, "webtorrentDestroy").catch(() => undefined);
    await closePage(downloader);
    await closePage(seeder);
  }
}
