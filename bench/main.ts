// `npm run bench`: every benchmark of issue 7 in real headless Chromium, in one
// run, so each figure is a ratio of things measured side by side on this shared
// machine. Prints a table, writes bench/results/latest.json and one SVG chart
// per benchmark; with --json the last line of output is one JSON object.
// Progress goes to stderr; the table and the JSON line go to stdout.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchmarkName } from "./args.ts";
import { ArgsError, benchmarkNames, parseArgs, usage } from "./args.ts";
import type { AppMemoryResult, AppTarget, AppTransferResult, SharePhases } from "./app.ts";
import { measureAppMemory, measureAppShare, measureAppSwarm, measureAppTransfer, probeApp, swarmCaps } from "./app.ts";
import type { CeilingResult } from "./ceiling.ts";
import { ceilingBackpressure, measureCeiling } from "./ceiling.ts";
import { runTrackerBench } from "./child.ts";
import { patternFiles } from "./files.ts";
import type { BenchBrowser, BenchTracker, StaticServer } from "./harness.ts";
import { launchBrowser, NotAvailableError, referenceWebTorrentVersion, repoRoot, startReferenceTracker, startStaticServer, startSwarmdropTracker } from "./harness.ts";
import type { Figure, Measured, Measurements, TransferMeasurement } from "./ratios.ts";
import { computeFigures, goals, median, pairedRatios, throughputMBps } from "./ratios.ts";
import type { ChartSpec } from "./report.ts";
import { barChartSvg, formatTable } from "./report.ts";
import type { SubtleResult } from "./subtle.ts";
import { measureSubtleSha1 } from "./subtle.ts";
import type { WebTorrentResult } from "./webtorrent.ts";
import { measureWebTorrent } from "./webtorrent.ts";

const MiB = 1024 * 1024;
const resultsDir = join(repoRoot, "bench", "results");
const t0 = performance.now();

function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${message}\n`);
}

function reasonOf(err: unknown): string {
  if (err instanceof NotAvailableError) return err.message;
  return `failed: ${err instanceof Error ? `${err.name}: ${err.message.split("\n")[0]}` : String(err)}`;
}

async function measure<T>(what: string, run: () => Promise<T>): Promise<Measured<T>> {
  log(`${what} ...`);
  try {
    const value = await run();
    log(`${what}: done`);
    return { ok: true, value };
  } catch (err) {
    const reason = reasonOf(err);
    log(`${what}: ${reason}`);
    return { ok: false, reason };
  }
}

/** Builds the web app into a temporary folder (not dist/, which others' e2e runs use). */
async function buildApp(): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), "swarmdrop-bench-dist-"));
  const vite = join(repoRoot, "node_modules", "vite", "bin", "vite.js");
  const child = spawn(process.execPath, [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "error"], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  if (code !== 0) throw new NotAvailableError(`not available yet: the web app does not build (${stderr.trim().split("\n")[0] ?? `exit ${String(code)}`})`);
  return outDir;
}

/** Median of repeated transfer runs; the extra fields come from the median run. */
function medianRun<T extends TransferMeasurement>(runs: Measured<T>[]): Measured<T> | undefined {
  const ok = runs.filter((r): r is { ok: true; value: T } => r.ok);
  if (ok.length === 0) return runs[0];
  const mid = median(ok.map((r) => r.value.durationMs));
  const closest = ok.reduce((a, b) => (Math.abs(b.value.durationMs - mid) < Math.abs(a.value.durationMs - mid) ? b : a));
  return { ok: true, value: { ...closest.value, durationMs: mid } };
}

/** Several runs of one measurement as one: all their bytes over all their time (a failed run fails the pool). */
function pooled(runs: readonly Measured<TransferMeasurement>[]): Measured<TransferMeasurement> {
  const failed = runs.find((r): r is { ok: false; reason: string } => !r.ok);
  if (failed) return failed;
  let bytes = 0;
  let durationMs = 0;
  for (const r of runs) {
    if (r.ok) {
      bytes += r.value.bytes;
      durationMs += r.value.durationMs;
    }
  }
  return { ok: true, value: { bytes, durationMs } };
}

interface Details {
  ceiling?: CeilingResult;
  webtorrent?: WebTorrentResult;
  swarmdropShareMs?: number;
  swarmdropFirstProgressMs?: number | null;
  subtlePieceBytes?: number;
  subtleWorkers?: number;
  sharePhasesMs?: SharePhases;
  runs: Record<string, number[]>;
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  if (args.help) {
    console.log(usage);
    return;
  }
  const selected = new Set<BenchmarkName>(args.only);
  const webtorrentVersion = referenceWebTorrentVersion();
  const sizes = {
    transferBytes: (args.sizeMiB ?? 256) * MiB,
    memoryBytes: (args.sizeMiB ?? 1024) * MiB,
    shareBytes: (args.sizeMiB ?? 1024) * MiB,
    swarmBytes: (args.sizeMiB ?? 24) * MiB,
    hashPieceBytes: 1 * MiB,
  };
  const startedAt = new Date().toISOString();
  const needsApp = ["throughput", "webtorrent", "swarm", "memory", "share"].some((n) => selected.has(n as BenchmarkName));
  const needsBrowser = needsApp;

  let server: StaticServer | null = null;
  let bb: BenchBrowser | null = null;
  let swarmdropTracker: BenchTracker | null = null;
  let referenceTracker: BenchTracker | null = null;
  let builtDir: string | null = null;
  const files = patternFiles();
  let appReason: string | null = null;
  let app: AppTarget | null = null;
  const m: Measurements = {};
  const details: Details = { runs: {} };
  let trackerFigures: Record<string, unknown> | null = null;
  let memoryRun: Measured<AppMemoryResult> | null = null;
  let trackerReason: string | null = null;

  try {
    if (needsBrowser) {
      server = await startStaticServer();
      bb = await launchBrowser();
      log(`Chromium ${bb.version} (${bb.executable}); bench pages on ${server.origin}`);
      // The app and our tracker: built into a temporary folder and served by tracker/server.ts.
      const distDir = args.build ? null : join(repoRoot, "dist");
      const probe = await startSwarmdropTracker(distDir ?? join(repoRoot, "dist"));
      if (typeof probe === "string") {
        appReason = `not available yet: ${probe}`;
      } else {
        await probe.close();
        try {
          const dir = distDir ?? (builtDir = await buildApp());
          const started = await startSwarmdropTracker(dir);
          if (typeof started === "string") throw new NotAvailableError(`not available yet: ${started}`);
          swarmdropTracker = started;
          app = { origin: started.appOrigin ?? "", driverUrl: server.appDriverUrl, files };
          await probeApp(bb, app);
        } catch (err) {
          appReason = reasonOf(err);
          app = null;
        }
      }
      if (appReason) log(`SwarmDrop app: ${appReason}`);
      let webtorrentReason = "not available: no tracker";
      if (!swarmdropTracker && selected.has("webtorrent")) {
        try {
          referenceTracker = await startReferenceTracker();
        } catch (err) {
          webtorrentReason = `not available: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      const tracker = swarmdropTracker ?? referenceTracker;
      if (tracker) log(`tracker: ${tracker.description}`);

      const appRun = async <T>(what: string, run: (target: AppTarget) => Promise<T>): Promise<Measured<T>> => {
        if (!app) {
          log(`${what}: ${appReason ?? "not available yet"}`);
          return { ok: false, reason: appReason ?? "not available yet" };
        }
        const target = app;
        return measure(what, () => run(target));
      };

      // 1 and 2: two-peer transfers, interleaved when repeated, so drift hits each alike.
      const runTransfers = selected.has("throughput") || selected.has("webtorrent");
      if (runTransfers) {
        const ceilingRuns: Measured<CeilingResult>[] = [];
        const swarmdropRuns: Measured<AppTransferResult>[] = [];
        const webtorrentRuns: Measured<WebTorrentResult>[] = [];
        const size = sizes.transferBytes;
        const bbNow = bb;
        const serverNow = server;
        for (let r = 1; r <= args.repeat; r++) {
          const tag = args.repeat > 1 ? ` (run ${r}/${args.repeat})` : "";
          if (selected.has("throughput")) {
            ceilingRuns.push(await measure(`ceiling: bare RTCDataChannel, ${size / MiB} MiB${tag}`, () => measureCeiling(bbNow, serverNow, size)));
          }
          swarmdropRuns.push(await appRun(`SwarmDrop transfer, ${size / MiB} MiB${tag}`, (t) => measureAppTransfer(bbNow, t, { sizeBytes: size, seed: 7, withHeap: false })));
          if (selected.has("webtorrent")) {
            webtorrentRuns.push(
              tracker
                ? await measure(`WebTorrent transfer, ${size / MiB} MiB${tag}`, () => measureWebTorrent(bbNow, serverNow, tracker, size))
                : { ok: false, reason: webtorrentReason },
            );
          }
        }
        const rateOf = (runs: Measured<TransferMeasurement>[]): number[] => runs.flatMap((r) => (r.ok ? [throughputMBps(r.value)] : []));
        const runRates = { ceilingMBps: rateOf(ceilingRuns), swarmdropMBps: rateOf(swarmdropRuns), webtorrentMBps: rateOf(webtorrentRuns) };
        // Each run's own ratio too (its parts ran back to back): the spread shows how noisy the machine was.
        details.runs = {
          ...runRates,
          swarmdropOverCeiling: pairedRatios(runRates.swarmdropMBps, runRates.ceilingMBps),
          swarmdropOverWebtorrent: pairedRatios(runRates.swarmdropMBps, runRates.webtorrentMBps),
        };
        const ceiling = medianRun(ceilingRuns);
        const swarmdrop = medianRun(swarmdropRuns);
        const webtorrent = medianRun(webtorrentRuns);
        if (ceiling) m.ceiling = ceiling;
        if (swarmdrop) m.swarmdrop = swarmdrop;
        if (webtorrent) m.webtorrent = webtorrent;
        if (ceiling?.ok) details.ceiling = ceiling.value;
        if (webtorrent?.ok) details.webtorrent = webtorrent.value;
        if (swarmdrop?.ok) {
          details.swarmdropShareMs = swarmdrop.value.shareMs;
          details.swarmdropFirstProgressMs = swarmdrop.value.firstProgressMs;
        }
      }
      const bbNow = bb;
      const serverNow = server;
      if (selected.has("swarm")) m.swarm = await appRun(`swarm: 1 seed + 6 capped downloaders, ${sizes.swarmBytes / MiB} MiB`, (t) => measureAppSwarm(bbNow, t, sizes.swarmBytes));
      if (selected.has("memory")) m.memory = memoryRun = await appRun(`memory: SwarmDrop transfer of ${sizes.memoryBytes / MiB} MiB with heap sampling`, (t) => measureAppMemory(bbNow, t, sizes.memoryBytes));
      if (selected.has("share")) {
        // subtle before and after the app, pooled: the app's run sits between the two, so load drift hits both alike.
        // Each is the faster of the main thread and as many workers as the app uses (bench/subtle.ts).
        const subtle = (when: string): Promise<Measured<SubtleResult>> =>
          measure(`crypto.subtle SHA-1 over ${sizes.shareBytes / MiB} MiB in ${sizes.hashPieceBytes / MiB} MiB pieces, main thread and workers (${when})`, () =>
            measureSubtleSha1(bbNow, serverNow, sizes.shareBytes, sizes.hashPieceBytes),
          );
        const before = await subtle("before the app");
        const share = await appRun(`time to share: the app hashing ${sizes.shareBytes / MiB} MiB`, (t) => measureAppShare(bbNow, t, sizes.shareBytes));
        m.shareHash = share;
        const after = await subtle("after the app");
        m.subtleSha1 = pooled([before, after]);
        details.subtlePieceBytes = sizes.hashPieceBytes;
        details.runs.subtleSha1MBps = [before, after].flatMap((r) => (r.ok ? [throughputMBps(r.value)] : []));
        details.runs.subtleMainThreadMBps = [before, after].flatMap((r) => (r.ok ? [r.value.mainThreadMBps] : []));
        details.runs.subtleWorkersMBps = [before, after].flatMap((r) => (r.ok ? [r.value.workersMBps] : []));
        if (before.ok) details.subtleWorkers = before.value.workers;
        if (share.ok) {
          details.sharePhasesMs = share.value.phases;
          const p = share.value.phases;
          const ms = (v: number | null): string => (v === null ? "?" : `${Math.round(v)} ms`);
          log(`time to share, phases: until the app started ${ms(p.untilStartMs)}, hashing ${ms(p.hashingMs)}, starting the transfer ${ms(p.startingMs)}, showing the link ${ms(p.showingMs)}`);
        }
      }
    }
    if (selected.has("tracker")) {
      log("tracker: bench/tracker.ts --json ...");
      try {
        trackerFigures = await runTrackerBench();
        log("tracker: done");
      } catch (err) {
        trackerReason = reasonOf(err);
        log(`tracker: ${trackerReason}`);
      }
    }
  } finally {
    await bb?.close().catch(() => undefined);
    await swarmdropTracker?.close().catch(() => undefined);
    await referenceTracker?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    if (builtDir) rmSync(builtDir, { recursive: true, force: true });
    files.remove();
  }

  const figures = computeFigures(m).filter((f) => isSelectedFigure(f, selected));
  const trackerUsed = swarmdropTracker?.description ?? referenceTracker?.description ?? null;
  const result = {
    version: 1,
    startedAt,
    durationS: Math.round((performance.now() - t0) / 100) / 10,
    command: `npm run bench -- ${process.argv.slice(2).join(" ")}`.trim(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", node: process.version, chromium: bb?.version ?? null },
    webtorrent: selected.has("webtorrent") ? webtorrentVersion : null,
    tracker: trackerUsed,
    app: app ? `SwarmDrop app served by ${swarmdropTracker?.description ?? "?"}` : appReason,
    sizes,
    repeat: args.repeat,
    figures: Object.fromEntries(figures.map((f) => [f.name, f.value])),
    reasons: Object.fromEntries(figures.filter((f) => f.reason).map((f) => [f.name, f.reason])),
    goals: Object.fromEntries(figures.filter((f) => f.goal).map((f) => [f.name, { ...f.goal, met: f.pass }])),
    trackerBench: selected.has("tracker") ? (trackerFigures ?? { reason: trackerReason }) : undefined,
    details: {
      ceiling: details.ceiling ? { messageBytes: details.ceiling.messageBytes, candidatePair: details.ceiling.candidatePair, backpressure: ceilingBackpressure } : undefined,
      webtorrent: details.webtorrent ? { pieceLengthBytes: details.webtorrent.pieceLengthBytes, seedReadyMs: Math.round(details.webtorrent.seedReadyMs) } : undefined,
      swarmdrop:
        details.swarmdropShareMs === undefined
          ? undefined
          : {
              shareMs: Math.round(details.swarmdropShareMs),
              firstProgressMs: details.swarmdropFirstProgressMs === null || details.swarmdropFirstProgressMs === undefined ? null : Math.round(details.swarmdropFirstProgressMs),
            },
      memory: memoryRun?.ok
        ? {
            downloaderHeap: memoryRun.value.downloaderHeap,
            seedHeap: memoryRun.value.seedHeap,
            transferMBps: throughputMBps({ bytes: memoryRun.value.fileBytes, durationMs: memoryRun.value.transferMs }),
          }
        : undefined,
      swarmFinishSeconds: m.swarm?.ok ? m.swarm.value.finishSeconds : undefined,
      subtlePieceBytes: details.subtlePieceBytes,
      subtleWorkers: details.subtleWorkers,
      sharePhasesMs: details.sharePhasesMs,
      runs: details.runs,
    },
  };

  // Only a complete run at full size replaces the published results; a partial or
  // resized one goes to bench/results/partial.tmp/ (git-ignored) so it cannot
  // overwrite the figures the README quotes.
  const complete = args.only.length === benchmarkNames.length && args.sizeMiB === null;
  const outDir = complete ? resultsDir : join(resultsDir, "partial.tmp");
  const shownDir = complete ? "bench/results" : "bench/results/partial.tmp";
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.json"), JSON.stringify(result, null, 2) + "\n");
  const charts = chartsFor(figures, m, selected, trackerFigures, trackerReason, sizes);
  for (const [name, spec] of charts) writeFileSync(join(outDir, `${name}.svg`), barChartSvg(spec));

  console.log("");
  console.log(`SwarmDrop benchmarks, ${startedAt} (${result.durationS} s, ${result.machine.cpus} CPUs, Chromium ${result.machine.chromium ?? "-"})`);
  if (trackerUsed) console.log(`Tracker: ${trackerUsed}`);
  if (selected.has("webtorrent")) console.log(`Reference: WebTorrent ${webtorrentVersion ?? "not installed"} (.reference/, scripts/install-reference.sh)`);
  console.log(`SwarmDrop app: ${result.app ?? "not needed"}`);
  console.log("");
  console.log(formatTable(figures));
  const swarmRatio = value(figures, "swarmOverFluidBound");
  if (swarmRatio !== null && swarmRatio < 0.95) {
    console.log("");
    console.log(`Warning: the swarm finished in ${swarmRatio.toFixed(2)} x the fluid bound, which no schedule can beat: the upload caps were not all honoured.`);
  }
  if (args.repeat > 1) {
    console.log("");
    console.log(`Each of the ${args.repeat} interleaved runs (medians above):`);
    for (const [k, v] of Object.entries(details.runs)) if (v.length > 0) console.log(`  ${k}: ${v.map((x) => x.toFixed(2)).join(", ")}`);
  }
  if (selected.has("tracker")) {
    console.log("");
    if (trackerFigures) {
      console.log("Tracker (bench/tracker.ts --json):");
      for (const [k, v] of Object.entries(trackerFigures)) console.log(`  ${k}: ${typeof v === "object" ? JSON.stringify(v) : String(v)}`);
    } else console.log(`Tracker: ${trackerReason ?? "not run"}`);
  }
  console.log("");
  console.log(`Wrote ${shownDir}/latest.json and ${charts.map(([n]) => `${n}.svg`).join(", ")} in ${shownDir}/${complete ? "" : " (a partial run: bench/results/latest.json is left as it was)"}.`);
  if (args.json) {
    console.log(JSON.stringify({ ...result.figures, tracker: result.trackerBench ?? null, reasons: result.reasons, trackerUsed, sizes }));
  }
}

const figureBenchmark: Record<string, BenchmarkName[]> = {
  ceilingMBps: ["throughput"],
  swarmdropMBps: ["throughput", "webtorrent"],
  swarmdropOverCeiling: ["throughput"],
  ceilingCpuS: ["throughput"],
  swarmdropCpuS: ["throughput", "webtorrent"],
  swarmdropCpuOverCeilingCpu: ["throughput"],
  webtorrentMBps: ["webtorrent"],
  webtorrentCpuS: ["webtorrent"],
  swarmdropOverWebtorrent: ["webtorrent"],
  ceilingOverWebtorrent: ["webtorrent"],
  swarmLastFinishS: ["swarm"],
  swarmFluidBoundS: ["swarm"],
  swarmOverFluidBound: ["swarm"],
  downloaderPeakHeapMB: ["memory"],
  seedPeakHeapMB: ["memory"],
  downloaderPeakWithBuffersMB: ["memory"],
  seedPeakWithBuffersMB: ["memory"],
  shareHashMBps: ["share"],
  subtleSha1MBps: ["share"],
  shareOverSubtle: ["share"],
};

/** "referenceOffersRelayedPerS" -> "reference\noffers relayed/s"; "announcesPerS" -> "SwarmDrop\nannounces/s". */
function trackerLabel(key: string): string {
  const reference = key.startsWith("reference");
  const rest = reference ? key.slice("reference".length) : key;
  const words = rest.replace(/PerS$/, "").replace(/([A-Z])/g, " $1").trim().toLowerCase();
  return `${reference ? "reference" : "SwarmDrop"}\n${words}/s`;
}

function isSelectedFigure(f: Figure, selected: ReadonlySet<BenchmarkName>): boolean {
  return (figureBenchmark[f.name] ?? []).some((b) => selected.has(b));
}

function value(figures: readonly Figure[], name: string): number | null {
  return figures.find((f) => f.name === name)?.value ?? null;
}

function ratioText(figures: readonly Figure[], name: string, label: string): string {
  const v = value(figures, name);
  return v === null ? `${label}: not measured` : `${label} = ${v.toFixed(2)}`;
}

function chartsFor(
  figures: readonly Figure[],
  m: Measurements,
  selected: ReadonlySet<BenchmarkName>,
  trackerFigures: Record<string, unknown> | null,
  trackerReason: string | null,
  sizes: { transferBytes: number; memoryBytes: number; shareBytes: number; swarmBytes: number },
): [string, ChartSpec][] {
  const charts: [string, ChartSpec][] = [];
  const note = (name: string): string => (figures.find((f) => f.name === name)?.reason?.startsWith("not available yet") ? "not available yet" : "not measured");
  const mib = (b: number): string => `${b / MiB} MiB`;
  if (selected.has("throughput")) {
    const ceiling = value(figures, "ceilingMBps");
    charts.push([
      "throughput",
      {
        title: `Two peers, ${mib(sizes.transferBytes)}: SwarmDrop vs the bare data channel`,
        subtitle: ratioText(figures, "swarmdropOverCeiling", "SwarmDrop / ceiling") + ` (goal >= ${goals.swarmdropOverCeiling.target})`,
        unit: "MB/s",
        bars: [
          { label: "bare RTCDataChannel", value: ceiling },
          { label: "SwarmDrop", value: value(figures, "swarmdropMBps"), note: note("swarmdropMBps") },
        ],
        lines: ceiling === null ? [] : [{ label: "goal", value: ceiling * goals.swarmdropOverCeiling.target }],
      },
    ]);
  }
  if (selected.has("webtorrent")) {
    const wt = value(figures, "webtorrentMBps");
    charts.push([
      "webtorrent",
      {
        title: `Two peers, ${mib(sizes.transferBytes)}: SwarmDrop vs WebTorrent ${referenceWebTorrentVersion() ?? ""}`.trimEnd(),
        subtitle: ratioText(figures, "swarmdropOverWebtorrent", "SwarmDrop / WebTorrent") + ` (goal >= ${goals.swarmdropOverWebtorrent.target})`,
        unit: "MB/s",
        bars: [
          { label: "WebTorrent", value: wt, note: note("webtorrentMBps") },
          { label: "SwarmDrop", value: value(figures, "swarmdropMBps"), note: note("swarmdropMBps") },
        ],
        lines: wt === null ? [] : [{ label: "goal", value: wt * goals.swarmdropOverWebtorrent.target }],
      },
    ]);
  }
  if (selected.has("swarm")) {
    const bound = value(figures, "swarmFluidBoundS");
    const finish = m.swarm?.ok ? m.swarm.value.finishSeconds : null;
    charts.push([
      "swarm",
      {
        title: `Swarm, ${mib(sizes.swarmBytes)}: 1 seed, 6 capped downloaders`,
        subtitle: ratioText(figures, "swarmOverFluidBound", "last finish / fluid bound") + ` (goal <= ${goals.swarmOverFluidBound.target})`,
        unit: "seconds to finish",
        bars: finish
          ? finish.map((s, i) => ({ label: `peer ${i + 1}\nup ${Math.round((swarmCaps.peerUploadBytesPerS[i] ?? 0) / 1024)} KiB/s`, value: s }))
          : [{ label: "downloaders", value: null, note: note("swarmLastFinishS") }],
        lines: bound === null ? [] : [{ label: "fluid bound", value: bound }, { label: "goal", value: bound * goals.swarmOverFluidBound.target }],
      },
    ]);
  }
  if (selected.has("memory")) {
    charts.push([
      "memory",
      {
        title: `Peak JS heap while moving ${mib(sizes.memoryBytes)}`,
        unit: "MB",
        bars: [
          { label: "downloader", value: value(figures, "downloaderPeakHeapMB"), note: note("downloaderPeakHeapMB") },
          { label: "seed", value: value(figures, "seedPeakHeapMB"), note: note("seedPeakHeapMB") },
          { label: "downloader\n+ ArrayBuffers", value: value(figures, "downloaderPeakWithBuffersMB"), note: note("downloaderPeakWithBuffersMB") },
          { label: "seed\n+ ArrayBuffers", value: value(figures, "seedPeakWithBuffersMB"), note: note("seedPeakWithBuffersMB") },
        ],
        lines: [{ label: "goal", value: goals.peakHeapMB.target }],
      },
    ]);
  }
  if (selected.has("share")) {
    const subtle = value(figures, "subtleSha1MBps");
    charts.push([
      "share",
      {
        title: `Time to share ${mib(sizes.shareBytes)}: hashing rate`,
        subtitle: ratioText(figures, "shareOverSubtle", "app / crypto.subtle") + ` (goal >= ${goals.shareOverSubtle.target})`,
        unit: "MB/s",
        bars: [
          { label: "crypto.subtle SHA-1", value: subtle, note: note("subtleSha1MBps") },
          { label: "SwarmDrop (to link)", value: value(figures, "shareHashMBps"), note: note("shareHashMBps") },
        ],
        lines: subtle === null ? [] : [{ label: "goal", value: subtle * goals.shareOverSubtle.target }],
      },
    ]);
  }
  if (selected.has("tracker")) {
    // Only the per-second rates share a unit (SwarmDrop's tracker and the reference, side by side).
    const numeric = trackerFigures ? Object.entries(trackerFigures).filter((e): e is [string, number] => typeof e[1] === "number" && e[0].endsWith("PerS")) : [];
    const ratio = trackerFigures?.announcesRatio;
    charts.push([
      "tracker",
      {
        title: "Tracker (bench/tracker.ts): messages per second",
        ...(typeof ratio === "number" ? { subtitle: `announces: SwarmDrop tracker / reference = ${ratio.toFixed(2)}` } : {}),
        unit: "per second",
        bars: numeric.length > 0 ? numeric.map(([k, v]) => ({ label: trackerLabel(k), value: v })) : [{ label: "tracker", value: null, note: trackerReason ? "not available yet" : "not measured" }],
      },
    ]);
  }
  return charts;
}

await main();
// Every browser, server and child is closed by now; exit even if a stray handle remains.
process.exit(process.exitCode ?? 0);
