// Throughput against the ceiling, measured in the same run on the same machine
// (protocols.md: ratios, not absolute numbers, are the goal). First a bare
// RTCDataChannel between two browser contexts moves N MiB in 256 KiB messages
// under a 1 MiB high-water mark; then SwarmDrop moves a file of the same size
// between two contexts (timed from the first "downloading" to complete, so
// tracker, connect and metadata time are left out). Prints both and the ratio.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";

const sizeMiB = Number(process.env.THROUGHPUT_MIB ?? 32);
const sizeBytes = sizeMiB * 1024 * 1024;

async function bareChannelMs(a: Page, b: Page): Promise<number> {
  const offer = await a.evaluate(async () => {
    const pc = new RTCPeerConnection();
    const channel = pc.createDataChannel("bench", { ordered: true });
    channel.binaryType = "arraybuffer";
    (globalThis as unknown as { benchPc: RTCPeerConnection; benchChannel: RTCDataChannel }).benchPc = pc;
    (globalThis as unknown as { benchChannel: RTCDataChannel }).benchChannel = channel;
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === "complete") resolve();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    });
    return pc.localDescription!.sdp;
  });
  const answer = await b.evaluate(async (sdp) => {
    const pc = new RTCPeerConnection();
    const g = globalThis as unknown as { benchPc: RTCPeerConnection; benchDone: Promise<number> };
    g.benchPc = pc;
    g.benchDone = new Promise<number>((resolve) => {
      pc.addEventListener("datachannel", (event) => {
        const channel = event.channel;
        channel.binaryType = "arraybuffer";
        let received = 0;
        let firstMs = 0;
        channel.onmessage = (m: MessageEvent<ArrayBuffer>) => {
          if (received === 0) firstMs = performance.now();
          received += m.data.byteLength;
          if (received >= 1) (globalThis as unknown as { benchReceived: number }).benchReceived = received;
          if (received >= (globalThis as unknown as { benchTarget: number }).benchTarget) resolve(performance.now() - firstMs);
        };
      });
    });
    await pc.setRemoteDescription({ type: "offer", sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === "complete") resolve();
      pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    });
    return pc.localDescription!.sdp;
  }, offer);
  await b.evaluate((n) => ((globalThis as unknown as { benchTarget: number }).benchTarget = n), sizeBytes);
  await a.evaluate(async ({ sdp, total }) => {
    const g = globalThis as unknown as { benchPc: RTCPeerConnection; benchChannel: RTCDataChannel };
    await g.benchPc.setRemoteDescription({ type: "answer", sdp });
    const channel = g.benchChannel;
    if (channel.readyState !== "open") await new Promise((r) => channel.addEventListener("open", r, { once: true }));
    channel.bufferedAmountLowThreshold = 256 * 1024;
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    while (sent < total) {
      while (channel.bufferedAmount < 1024 * 1024 && sent < total) {
        channel.send(chunk);
        sent += chunk.length;
      }
      if (sent < total) await new Promise((r) => channel.addEventListener("bufferedamountlow", r, { once: true }));
    }
  }, { sdp: answer, total: sizeBytes });
  return b.evaluate(() => (globalThis as unknown as { benchDone: Promise<number> }).benchDone);
}

const region = (page: Page, name: string) => page.getByRole("region", { name, exact: true });

test("SwarmDrop's transfer rate against a bare data channel", async ({ browser }) => {
  test.setTimeout(240_000);
  const contexts = [await browser.newContext(), await browser.newContext(), await browser.newContext(), await browser.newContext()];
  try {
    const [p1, p2, seeder, leecher] = await Promise.all(contexts.map((c) => c.newPage()));
    await p1!.goto("/");
    await p2!.goto("/");
    const bareMs = await bareChannelMs(p1!, p2!);
    await contexts[0]!.close();
    await contexts[1]!.close();
    const bareMBps = sizeBytes / 1e6 / (bareMs / 1000);

    const name = "throughput.bin";
    const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-throughput-")), name);
    const bytes = new Uint8Array(sizeBytes);
    for (let i = 0; i < sizeBytes; i += 4096) bytes[i] = (i / 4096) & 0xff;
    writeFileSync(path, bytes);
    await seeder!.goto("/");
    await seeder!.getByLabel("Add files").setInputFiles(path);
    await expect(region(seeder!, name)).toHaveAttribute("data-status", "seeding", { timeout: 60_000 });
    const link = await region(seeder!, name).getByLabel("Share link").inputValue();
    await leecher!.goto(link);
    const joined = region(leecher!, name);
    const status = () => joined.getAttribute("data-status", { timeout: 1000 }).catch(() => null);
    await expect.poll(status, { timeout: 60_000, intervals: [25] }).toMatch(/downloading|seeding/);
    const startMs = Date.now();
    await expect.poll(status, { timeout: 180_000, intervals: [25] }).toBe("seeding");
    const swarmMs = Date.now() - startMs;
    const swarmMBps = sizeBytes / 1e6 / (swarmMs / 1000);
    const ratio = swarmMBps / bareMBps;
    const line = `${sizeMiB} MiB: bare data channel ${bareMBps.toFixed(1)} MB/s, SwarmDrop ${swarmMBps.toFixed(1)} MB/s (ratio ${ratio.toFixed(2)})`;
    console.log(line);
    test.info().annotations.push({ type: "throughput", description: line });
    // Loose floor: a regression to WebTorrent-like 16 KiB-frame behaviour (about 0.2) fails.
    expect(ratio).toBeGreaterThan(0.25);
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
  }
});
