// Benchmark part: crypto.subtle SHA-1's own rate in a page, piece by piece.
import type { BenchBrowser, StaticServer } from "./harness.ts";
import { callPage, closePage, openBenchPage } from "./harness.ts";
import type { TransferMeasurement } from "./ratios.ts";

export interface SubtleResult extends TransferMeasurement {
  pieceBytes: number;
}

export async function measureSubtleSha1(bb: BenchBrowser, server: StaticServer, sizeBytes: number, pieceBytes: number): Promise<SubtleResult> {
  const page = await openBenchPage(bb, server);
  try {
    const r = await callPage(page, "subtleSha1Rate", { totalBytes: sizeBytes, pieceBytes, seed: 3, bufferBytes: 64 * 1024 * 1024 });
    return { bytes: r.bytes, durationMs: r.durationMs, pieceBytes };
  } finally {
    await closePage(page);
  }
}
