// Benchmark part: crypto.subtle SHA-1's own rate in a page, piece by piece:
// once on the page's main thread, once split among as many dedicated workers
// as the app hashes with (web/swarm/hashing.ts hashWorkerCount). The faster of
// the two is the baseline, so the app is judged against what the page can do.
import type { BenchBrowser, StaticServer } from "./harness.ts";
import { callPage, closePage, openBenchPage } from "./harness.ts";
import { hashWorkerCount } from "../web/swarm/hashing.ts";
import type { TransferMeasurement } from "./ratios.ts";
import { throughputMBps } from "./ratios.ts";

export interface SubtleResult extends TransferMeasurement {
  pieceBytes: number;
  mainThreadMBps: number;
  workers: number;
  workersMBps: number;
}

export async function measureSubtleSha1(bb: BenchBrowser, server: StaticServer, sizeBytes: number, pieceBytes: number): Promise<SubtleResult> {
  const page = await openBenchPage(bb, server);
  try {
    const init = { totalBytes: sizeBytes, pieceBytes, seed: 3, bufferBytes: 64 * 1024 * 1024 };
    const main = await callPage(page, "subtleSha1Rate", init);
    const workers = hashWorkerCount;
    const parallel = await callPage(page, "subtleSha1Rate", { ...init, workers });
    const best = throughputMBps(parallel) > throughputMBps(main) ? parallel : main;
    return {
      bytes: best.bytes,
      durationMs: best.durationMs,
      pieceBytes,
      mainThreadMBps: throughputMBps(main),
      workers,
      workersMBps: throughputMBps(parallel),
    };
  } finally {
    await closePage(page);
  }
}
