// Profiles the two-peer transfer: both pages' main threads with the Chrome
// DevTools Protocol's sampling profiler while the downloader fetches, then
// prints each page's functions by self time and writes the .cpuprofile files
// (open them in Chrome DevTools' Performance panel).
//
//   npm run build && bash scripts/isolated.sh npx tsx bench/profile.ts [--size-mib N] [--out DIR] [--dist DIR]
//
// For readable names build unminified: npx vite build --minify false --outDir /tmp/dist-dev, then --dist /tmp/dist-dev.
//
// Uses dist/ as built. Not a benchmark: sampling slows the pages a little.
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CDPSession, Page } from "@playwright/test";
import { measureAppTransfer } from "./app.ts";
import { patternFiles } from "./files.ts";
import { launchBrowser, repoRoot, startStaticServer, startSwarmdropTracker } from "./harness.ts";
import { throughputMBps } from "./ratios.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Self time per function (name, file, line), largest first, as [label, ms, share of the profile]. */
export function selfTimes(profile: CpuProfile): [string, number, number][] {
  const byNode = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  samples.forEach((id, i) => {
    const node = byNode.get(id);
    const dt = (deltas[i + 1] ?? 0) / 1000;
    if (node === undefined) return;
    const f = node.callFrame;
    const file = f.url.split("/").pop() ?? "";
    const label = `${f.functionName || "(anonymous)"} ${file}${file ? `:${f.lineNumber + 1}` : ""}`;
    ms.set(label, (ms.get(label) ?? 0) + dt);
    total += dt;
  });
  return [...ms.entries()].sort((a, b) => b[1] - a[1]).map(([label, t]) => [label, t, total > 0 ? t / total : 0]);
}

async function startProfiler(page: Page): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
  return cdp;
}

async function main(): Promise<void> {
  const sizeMiB = Number(argValue("--size-mib") ?? "256");
  const outDir = argValue("--out") ?? join(tmpdir(), "swarmdrop-profiles");
  mkdirSync(outDir, { recursive: true });
  const server = await startStaticServer();
  const bb = await launchBrowser();
  const tracker = await startSwarmdropTracker(argValue("--dist") ?? join(repoRoot, "dist"));
  if (typeof tracker === "string") throw new Error(tracker);
  const files = patternFiles();
  const sessions: { seed?: CDPSession; downloader?: CDPSession } = {};
  const profiles: Record<string, CpuProfile> = {};
  try {
    const r = await measureAppTransfer(bb, { origin: tracker.appOrigin ?? "", driverUrl: server.appDriverUrl, files }, {
      sizeBytes: sizeMiB * 1024 * 1024,
      seed: 7,
      withHeap: false,
      hooks: {
        async started(seeder, downloader) {
          sessions.seed = await startProfiler(seeder);
          sessions.downloader = await startProfiler(downloader);
        },
        async finished() {
          for (const [role, cdp] of Object.entries(sessions)) {
            profiles[role] = (await cdp.send("Profiler.stop")).profile as CpuProfile;
          }
        },
      },
    });
    console.log(`transfer: ${sizeMiB} MiB at ${throughputMBps(r).toFixed(1)} MB/s (profiled)`);
    for (const [role, profile] of Object.entries(profiles)) {
      const file = join(outDir, `${role}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      const wallMs = (profile.endTime - profile.startTime) / 1000;
      console.log(`\n${role}: ${file} (${(wallMs / 1000).toFixed(1)} s)`);
      for (const [label, ms, share] of selfTimes(profile).slice(0, 25)) {
        console.log(`  ${ms.toFixed(0).padStart(7)} ms ${(share * 100).toFixed(1).padStart(5)} %  ${label}`);
      }
    }
  } finally {
    await bb.close().catch(() => undefined);
    await tracker.close().catch(() => undefined);
    await server.close().catch(() => undefined);
    files.remove();
  }
}

await main();
