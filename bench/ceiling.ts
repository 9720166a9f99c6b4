// Benchmark part: the raw RTCDataChannel ceiling between two pages (two
// contexts) of the same browser. Signalling is the harness passing SDP between
// the pages; the bytes are generated in the sender page.
import type { BenchBrowser, StaticServer } from "./harness.ts";
import { callPage, closePage, openBenchPage } from "./harness.ts";
import { browserCpuMeter } from "./process-cpu.ts";
import type { TransferMeasurement } from "./ratios.ts";

export class CeilingError extends Error {
  override name = "CeilingError";
}

export interface CeilingResult extends TransferMeasurement {
  messageBytes: number;
  candidatePair: string;
}

export const ceilingBackpressure = { highWaterBytes: 1024 * 1024, lowWaterBytes: 256 * 1024, maxMessageCapBytes: 256 * 1024 };

export async function measureCeiling(bb: BenchBrowser, server: StaticServer, sizeBytes: number, seed = 1): Promise<CeilingResult> {
  const sender = await openBenchPage(bb, server);
  const receiver = await openBenchPage(bb, server);
  try {
    const offer = await callPage(sender, "ceilingOffer", { totalBytes: sizeBytes, seed });
    const answer = await callPage(receiver, "ceilingAnswer", { sdp: offer.sdp, totalBytes: sizeBytes, seed });
    await callPage(sender, "ceilingAccept", { sdp: answer.sdp });
    const cpu = browserCpuMeter();
    cpu.start();
    const started = await callPage(sender, "ceilingStart", ceilingBackpressure);
    const got = await callPage(receiver, "ceilingReceived", { timeoutMs: 15 * 60_000 });
    const cpuSeconds = cpu.stop();
    if (got.bytes !== sizeBytes) throw new CeilingError(`receiver got ${got.bytes} bytes, expected ${sizeBytes}`);
    if (got.badMessages > 0) throw new CeilingError(`${got.badMessages} of ${got.messages} messages did not hold the bytes sent`);
    return {
      bytes: got.bytes,
      durationMs: got.endEpochMs - started.startEpochMs,
      messageBytes: started.messageBytes,
      candidatePair: got.candidatePair,
      ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
    };
  } finally {
    await callPage(sender, "ceilingClose").catch(() => undefined);
    await callPage(receiver, "ceilingClose").catch(() => undefined);
    await closePage(sender);
    await closePage(receiver);
  }
}
