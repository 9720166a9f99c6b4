// Benchmark parts that drive SwarmDrop's real pages end to end, the way a user
// would: the app built into a dist folder and served by SwarmDrop's tracker,
// one browser context per person. Written against the UI contract:
//   - a file input labelled "Add files"
//   - a read-only text field "Share link" (and a button "Copy link")
//   - each transfer a region named after the torrent, holding the share link
//     and a progressbar "<name> progress" whose aria-valuenow runs 0-100
//   - for the swarm benchmark: a number field labelled "Upload limit (KiB/s)"
//     driving SwarmDrop's own rate limiter (session.setUploadLimit)
// Input files are generated on disk (bench/files.ts) and set on the input by
// path; bench/pages/app-driver.ts, injected into each page, times the UI.
import { errors } from "@playwright/test";
import type { Locator, Page } from "@playwright/test";
import type { FluidPeer } from "../core/fluid-bound.ts";
import type { BenchBrowser, HeapPeaks, HeapSampler } from "./harness.ts";
import type { PatternFiles } from "./files.ts";
import { closePage, NotAvailableError, sampleHeap } from "./harness.ts";
import { browserCpuMeter } from "./process-cpu.ts";
import type { ShareLinkShown } from "./pages/api.ts";
import type { MemoryMeasurement, SwarmMeasurement, TransferMeasurement } from "./ratios.ts";

export interface AppTarget {
  /** Origin serving the built app (SwarmDrop's tracker). */
  origin: string;
  /** URL of bench/pages/app-driver.ts on the bench's static server. */
  driverUrl: string;
  /** Where the input files are written. */
  files: PatternFiles;
}

const addFilesLabel = "Add files";
const shareLinkName = "Share link";
const uploadLimitLabel = "Upload limit (KiB/s)";
const uiWaitMs = 20_000;
/** A transfer whose progress does not move for this long has failed (rather than holding the run for its whole timeout). */
const progressStallMs = 120_000;

function nodeEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

async function attached(locator: Locator, what: string, timeoutMs = uiWaitMs): Promise<Locator> {
  try {
    await locator.first().waitFor({ state: "attached", timeout: timeoutMs });
    return locator.first();
  } catch (err) {
    // Only a timeout means the UI lacks it; a crashed or closed page is a failure of its own.
    if (err instanceof errors.TimeoutError) throw new NotAvailableError(`not available yet: the app shows no ${what} within ${timeoutMs / 1000} s`);
    throw err;
  }
}

/** A new context and page at `url` with the driver injected; a heap sampler starts before navigation when asked. */
async function openApp(bb: BenchBrowser, target: AppTarget, url: string, withHeap = false): Promise<{ page: Page; heap: HeapSampler | null }> {
  const page = await bb.newPage(undefined, { bypassCSP: true });
  const heap = withHeap ? await sampleHeap(page) : null;
  await page.goto(url);
  await injectDriver(page, target);
  return { page, heap };
}

async function injectDriver(page: Page, target: AppTarget): Promise<void> {
  await page.addScriptTag({ url: target.driverUrl, type: "module" });
  await page.waitForFunction("window.swarmBenchApp !== undefined", undefined, { timeout: uiWaitMs });
}

/** Fails with "not available yet" unless the app at the origin shows its "Add files" input. */
export async function probeApp(bb: BenchBrowser, target: AppTarget): Promise<void> {
  const page = await bb.newPage(target.origin, { bypassCSP: true });
  try {
    await attached(page.getByLabel(addFilesLabel, { exact: true }), `file input labelled "${addFilesLabel}"`, 10_000);
  } finally {
    await closePage(page);
  }
}

interface Shared {
  link: string;
  startEpochMs: number;
  readyEpochMs: number;
  phases: SharePhases;
}

/** The time to share split by the app's marks (null where a mark is missing). */
export interface SharePhases {
  /** The change event until the app started (swarmdrop:share-start). */
  untilStartMs: number | null;
  /** Hashing: share-start until share-hashed. */
  hashingMs: number | null;
  /** Storing the record, starting the session: share-hashed until share-ready. */
  startingMs: number | null;
  /** share-ready until the page showed the link. */
  showingMs: number | null;
}

function phasesOf(got: ShareLinkShown): SharePhases {
  const at = (name: string): number | null => got.marks[`swarmdrop:${name}`] ?? null;
  const span = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : b - a);
  const start = at("share-start");
  const hashed = at("share-hashed");
  const ready = at("share-ready");
  return { untilStartMs: span(got.startEpochMs, start), hashingMs: span(start, hashed), startingMs: span(hashed, ready), showingMs: span(ready, got.epochMs) };
}

/**
 * Adds a generated file through "Add files"; resolves when "Share link" holds
 * the link. Timed inside the page (bench/pages/app-driver.ts): from the file
 * input's change event until the page shows the link.
 */
async function shareFile(page: Page, files: PatternFiles, init: { name: string; sizeBytes: number; seed: number }, timeoutMs: number): Promise<Shared> {
  const input = await attached(page.getByLabel(addFilesLabel, { exact: true }), `file input labelled "${addFilesLabel}"`);
  const path = files.path(init.name, init.sizeBytes, init.seed);
  await page.evaluate((a) => window.swarmBenchApp!.armShareLink(a), { regionName: init.name, timeoutMs });
  await input.setInputFiles(path);
  // The UI contract still holds: a region named after the file, with its "Share link" field.
  const region = await attached(page.getByRole("region", { name: init.name, exact: true }), `transfer region named "${init.name}"`);
  await attached(region.getByRole("textbox", { name: shareLinkName, exact: true }), `"${shareLinkName}" field`, timeoutMs);
  const got = await page.evaluate(() => window.swarmBenchApp!.shareLinkShown());
  return { link: got.value, startEpochMs: got.startEpochMs, readyEpochMs: got.epochMs, phases: phasesOf(got) };
}

/** Waits for the transfer region named `name` to report 100 %; returns when, and when progress first showed. */
async function waitComplete(page: Page, name: string, timeoutMs: number): Promise<{ epochMs: number; firstProgressEpochMs: number | null }> {
  const region = await attached(page.getByRole("region", { name, exact: true }), `transfer region named "${name}"`, 60_000);
  // The transfer's own bar (files have theirs too): "<name> progress".
  const bar = await attached(region.getByRole("progressbar", { name: `${name} progress`, exact: true }), `progressbar "${name} progress"`, 60_000);
  return bar.evaluate((el, a) => window.swarmBenchApp!.waitForComplete(el, a), { timeoutMs, stallMs: progressStallMs });
}

async function setUploadCap(page: Page, bytesPerS: number): Promise<void> {
  const field = await attached(page.getByLabel(uploadLimitLabel, { exact: true }), `field labelled "${uploadLimitLabel}" (SwarmDrop's rate limiter)`, 5_000);
  await field.fill(String(Math.round(bytesPerS / 1024)));
  await field.press("Enter");
}

export interface AppTransferResult extends TransferMeasurement {
  /** Seed side: hashing the file until the link was ready. */
  shareMs: number;
  /** Downloader side: opening the link until its progress first rose above 0 % (tracker, WebRTC, metadata, first piece). */
  firstProgressMs: number | null;
  seedHeap: HeapPeaks | null;
  downloaderHeap: HeapPeaks | null;
}

/** Called around the transfer with both pages (bench/profile.ts profiles them). */
export interface TransferHooks {
  /** The downloader page has opened the link. */
  started(seeder: Page, downloader: Page): Promise<void>;
  /** The downloader reached 100 % (not called when the transfer failed). */
  finished(seeder: Page, downloader: Page): Promise<void>;
}

/** One seed page shares a generated file; a downloader page opens the link; timed from opening the link to 100 %. */
export async function measureAppTransfer(
  bb: BenchBrowser,
  target: AppTarget,
  init: { sizeBytes: number; seed: number; withHeap: boolean; hooks?: TransferHooks },
): Promise<AppTransferResult> {
  const name = `bench-swarmdrop-${init.sizeBytes}.bin`;
  const timeoutMs = 30 * 60_000;
  const seeder = await openApp(bb, target, target.origin, init.withHeap);
  let downloader: { page: Page; heap: HeapSampler | null } | null = null;
  try {
    const shared = await shareFile(seeder.page, target.files, { name, sizeBytes: init.sizeBytes, seed: init.seed }, timeoutMs);
    const startEpochMs = nodeEpochMs();
    // Browser CPU over the same window as the timing (the downloader's page is opened inside it).
    const cpu = browserCpuMeter();
    cpu.start();
    downloader = await openApp(bb, target, shared.link, init.withHeap);
    await init.hooks?.started(seeder.page, downloader.page);
    const done = await waitComplete(downloader.page, name, timeoutMs);
    const cpuSeconds = cpu.stop();
    await init.hooks?.finished(seeder.page, downloader.page);
    const downloaderHeap = downloader.heap ? await downloader.heap.stop() : null;
    const seedHeap = seeder.heap ? await seeder.heap.stop() : null;
    return {
      bytes: init.sizeBytes,
      durationMs: done.epochMs - startEpochMs,
      shareMs: shared.readyEpochMs - shared.startEpochMs,
      firstProgressMs: done.firstProgressEpochMs === null ? null : done.firstProgressEpochMs - startEpochMs,
      seedHeap,
      downloaderHeap,
      ...(cpuSeconds === undefined ? {} : { cpuSeconds }),
    };
  } finally {
    // Samplers loop until stopped: stop them whatever happened, or the run never exits.
    await downloader?.heap?.stop().catch(() => undefined);
    await seeder.heap?.stop().catch(() => undefined);
    if (downloader) await closePage(downloader.page);
    await closePage(seeder.page);
  }
}

export interface AppMemoryResult extends MemoryMeasurement {
  seedHeap: HeapPeaks;
  downloaderHeap: HeapPeaks;
  transferMs: number;
}

/** A transfer with both pages' heaps sampled; the figures are page + workers. */
export async function measureAppMemory(bb: BenchBrowser, target: AppTarget, sizeBytes: number): Promise<AppMemoryResult> {
  const r = await measureAppTransfer(bb, target, { sizeBytes, seed: 4, withHeap: true });
  if (!r.seedHeap || !r.downloaderHeap) throw new NotAvailableError("heap sampling did not run");
  return {
    fileBytes: sizeBytes,
    downloaderPeakHeapBytes: r.downloaderHeap.totalBytes,
    seedPeakHeapBytes: r.seedHeap.totalBytes,
    downloaderPeakWithBuffersBytes: r.downloaderHeap.withBuffersBytes,
    seedPeakWithBuffersBytes: r.seedHeap.withBuffersBytes,
    seedHeap: r.seedHeap,
    downloaderHeap: r.downloaderHeap,
    transferMs: r.durationMs,
  };
}

export interface AppShareResult extends TransferMeasurement {
  phases: SharePhases;
}

/** Time to share: hashing a generated file in the page until the link is ready. */
export async function measureAppShare(bb: BenchBrowser, target: AppTarget, sizeBytes: number): Promise<AppShareResult> {
  const { page } = await openApp(bb, target, target.origin);
  try {
    const shared = await shareFile(page, target.files, { name: `bench-share-${sizeBytes}.bin`, sizeBytes, seed: 5 }, 30 * 60_000);
    return { bytes: sizeBytes, durationMs: shared.readyEpochMs - shared.startEpochMs, phases: shared.phases };
  } finally {
    await closePage(page);
  }
}

export const KiB = 1024;
/** Heterogeneous caps: a seed and six downloaders of 1x to 8x each other's upload. */
export const swarmCaps = {
  seedUploadBytesPerS: 2048 * KiB,
  peerUploadBytesPerS: [256 * KiB, 512 * KiB, 512 * KiB, 1024 * KiB, 1024 * KiB, 2048 * KiB],
} as const;

/** One capped seed and six capped downloaders opening the link at once; finish times from that moment. */
export async function measureAppSwarm(
  bb: BenchBrowser,
  target: AppTarget,
  sizeBytes: number,
  /** How a page's upload gets capped; the UI field by default. */
  applyCap: (page: Page, bytesPerS: number) => Promise<void> = setUploadCap,
): Promise<SwarmMeasurement> {
  const name = `bench-swarm-${sizeBytes}.bin`;
  const timeoutMs = 30 * 60_000;
  const pages: Page[] = [];
  try {
    const seeder = await openApp(bb, target, target.origin);
    pages.push(seeder.page);
    await applyCap(seeder.page, swarmCaps.seedUploadBytesPerS);
    const downloaders: Page[] = [];
    for (const cap of swarmCaps.peerUploadBytesPerS) {
      const d = await openApp(bb, target, target.origin);
      pages.push(d.page);
      downloaders.push(d.page);
      await applyCap(d.page, cap);
    }
    const shared = await shareFile(seeder.page, target.files, { name, sizeBytes, seed: 6 }, timeoutMs);
    const startEpochMs = nodeEpochMs();
    const ends = await Promise.all(
      downloaders.map(async (page) => {
        await page.goto(shared.link);
        if (!(await page.evaluate("window.swarmBenchApp !== undefined"))) await injectDriver(page, target);
        return (await waitComplete(page, name, timeoutMs)).epochMs;
      }),
    );
    const peers: FluidPeer[] = swarmCaps.peerUploadBytesPerS.map((u) => ({ uploadBytesPerS: u, downloadBytesPerS: Infinity }));
    return {
      fileBytes: sizeBytes,
      seedUploadBytesPerS: swarmCaps.seedUploadBytesPerS,
      peers,
      finishSeconds: ends.map((end) => (end - startEpochMs) / 1000),
    };
  } finally {
    for (const page of pages) await closePage(page);
  }
}
