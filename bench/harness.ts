// The benchmark harness: one headless Chromium (Playwright, found by
// e2e/chromium.ts), a small static server on a free loopback port for the
// benchmark pages and the reference WebTorrent bundle, a WebSocket tracker on
// loopback (SwarmDrop's own once tracker/server.ts exports startTracker, else
// bittorrent-tracker's server from .reference/), and helpers to call page
// functions by name and to sample a page's JS heap through CDP.
import { createServer } from "node:http";
import type { Server } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { dirname, join, normalize, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { chromium } from "@playwright/test";
import type { Browser, CDPSession, Page } from "@playwright/test";
import { chromiumArgs, findChromium } from "../e2e/chromium.ts";
import type { BenchPageApi } from "./pages/api.ts";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const pagesDir = join(repoRoot, "bench", "pages");
const referenceDir = join(repoRoot, ".reference", "node_modules");
export const webtorrentBundlePath = join(referenceDir, "webtorrent", "dist", "webtorrent.min.js");

/** The installed reference WebTorrent's version (scripts/install-reference.sh pins it), or null when it is missing. */
export function referenceWebTorrentVersion(): string | null {
  try {
    const pkg: unknown = JSON.parse(readFileSync(join(referenceDir, "webtorrent", "package.json"), "utf8"));
    const version = typeof pkg === "object" && pkg !== null ? (pkg as { version?: unknown }).version : undefined;
    return typeof version === "string" ? version : null;
  } catch {
    return null;
  }
}
// server.js alone: index.js also loads the client, whose native WebRTC module is not built here.
const referenceTrackerPath = join(referenceDir, "bittorrent-tracker", "server.js");
const swarmdropTrackerPath = join(repoRoot, "tracker", "server.ts");

export class BenchSetupError extends Error {
  override name = "BenchSetupError";
}

/** A benchmark that cannot run yet (a part of SwarmDrop has not landed): reported as such, never as a number. */
export class NotAvailableError extends Error {
  override name = "NotAvailableError";
}

// ---------------------------------------------------------------------------
// Static server for the benchmark pages

export interface StaticServer {
  origin: string;
  benchPageUrl: string;
  appDriverUrl: string;
  webtorrentBundleUrl: string;
  close(): Promise<void>;
}

const benchHtml = `<!doctype html><html><head><meta charset="utf-8"><title>SwarmDrop bench page</title></head>
<body><script type="module" src="/pages/bench-page.ts"></script></body></html>`;

/** Page modules are TypeScript: strip types on the way out (imports keep their .ts names, served by this same route). */
function transpile(source: string, fileName: string): string {
  return ts.transpileModule(source, {
    fileName,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
  }).outputText;
}

export async function startStaticServer(): Promise<StaticServer> {
  const cache = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    void (async () => {
      const headers = { "access-control-allow-origin": "*", "cache-control": "no-store" };
      try {
        const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
        if (path === "/" || path === "/bench.html") {
          res.writeHead(200, { ...headers, "content-type": "text/html; charset=utf-8" });
          res.end(benchHtml);
        } else if (path.startsWith("/pages/") && path.endsWith(".ts")) {
          const file = normalize(join(pagesDir, path.slice("/pages/".length)));
          if (!file.startsWith(pagesDir) || file.endsWith(".test.ts")) throw new BenchSetupError("outside the pages folder");
          let js = cache.get(file);
          if (js === undefined) {
            js = transpile(await readFile(file, "utf8"), file);
            cache.set(file, js);
          }
          res.writeHead(200, { ...headers, "content-type": "text/javascript; charset=utf-8" });
          res.end(js);
        } else if (path === "/ref/webtorrent.min.js") {
          res.writeHead(200, { ...headers, "content-type": "text/javascript; charset=utf-8" });
          res.end(await readFile(webtorrentBundlePath));
        } else {
          res.writeHead(404, headers);
          res.end();
        }
      } catch {
        res.writeHead(404, headers);
        res.end();
      }
    })();
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    benchPageUrl: `${origin}/bench.html`,
    appDriverUrl: `${origin}/pages/app-driver.ts`,
    webtorrentBundleUrl: `${origin}/ref/webtorrent.min.js`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---------------------------------------------------------------------------
// Trackers

export interface BenchTracker {
  /** Which tracker, for the report. */
  kind: "swarmdrop" | "reference";
  description: string;
  /** WebSocket announce URL on loopback. */
  announceUrl: string;
  /** Origin of the SwarmDrop app when this tracker serves it, else null. */
  appOrigin: string | null;
  close(): Promise<void>;
}

interface SwarmdropTrackerModule {
  startTracker(config: Record<string, unknown>): Promise<{ port: number; close(): Promise<void> | void }>;
}

function isSwarmdropTrackerModule(mod: unknown): mod is SwarmdropTrackerModule {
  return typeof mod === "object" && mod !== null && typeof (mod as { startTracker?: unknown }).startTracker === "function";
}

/** SwarmDrop's own tracker if tracker/server.ts exports startTracker; null (with the reason) otherwise. */
export async function startSwarmdropTracker(distDir: string): Promise<BenchTracker | string> {
  if (!existsSync(swarmdropTrackerPath)) return "tracker/server.ts does not exist yet";
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(swarmdropTrackerPath).href);
  } catch (err) {
    return `tracker/server.ts does not load: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!isSwarmdropTrackerModule(mod)) return "tracker/server.ts does not export startTracker yet";
  const started = await mod.startTracker({ port: 0, host: "127.0.0.1", distDir });
  const origin = `http://127.0.0.1:${started.port}`;
  return {
    kind: "swarmdrop",
    description: `SwarmDrop tracker (tracker/server.ts) on 127.0.0.1:${started.port}`,
    announceUrl: `ws://127.0.0.1:${started.port}/announce`,
    appOrigin: origin,
    close: async () => {
      await started.close();
    },
  };
}

interface ReferenceTrackerServer {
  listen(port: number, host: string, cb: () => void): void;
  close(cb: () => void): void;
  on(event: "error" | "warning", listener: (err: Error) => void): void;
  http: { address(): AddressInfo | string | null } | null;
}

/** bittorrent-tracker 11.2.3's server (WebSocket only) from the git-ignored .reference/ folder. */
export async function startReferenceTracker(): Promise<BenchTracker> {
  if (!existsSync(referenceTrackerPath)) {
    throw new BenchSetupError("bittorrent-tracker is not in .reference/: run scripts/install-reference.sh");
  }
  const mod = (await import(pathToFileURL(referenceTrackerPath).href)) as {
    default: new (opts: Record<string, unknown>) => ReferenceTrackerServer;
  };
  const server = new mod.default({ udp: false, http: false, ws: true, stats: false, trustProxy: false });
  server.on("error", (err) => console.error(`reference tracker error: ${err.message}`));
  server.on("warning", () => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.http?.address();
  if (!address || typeof address === "string") throw new BenchSetupError("reference tracker has no port");
  return {
    kind: "reference",
    description: `bittorrent-tracker 11.2.3 server (reference, .reference/) on 127.0.0.1:${address.port}`,
    announceUrl: `ws://127.0.0.1:${address.port}`,
    appOrigin: null,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---------------------------------------------------------------------------
// Browser and pages

export interface BenchBrowser {
  browser: Browser;
  version: string;
  executable: string;
  /** A fresh context (its own storage: one "user") with one page, at `url` when given. */
  newPage(url?: string, options?: { bypassCSP?: boolean }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BenchBrowser> {
  const executablePath = findChromium();
  const browser = await chromium.launch({
    headless: true,
    args: chromiumArgs,
    ...(executablePath ? { executablePath } : {}),
  });
  return {
    browser,
    version: browser.version(),
    executable: executablePath ?? "playwright's chromium",
    async newPage(url?: string, options: { bypassCSP?: boolean } = {}): Promise<Page> {
      const context = await browser.newContext({ bypassCSP: options.bypassCSP ?? false });
      const page = await context.newPage();
      page.on("pageerror", (err) => console.error(`  [page ${page.url()}] ${err.message}`));
      page.on("crash", () => console.error(`  [page ${page.url()}] crashed (out of memory?)`));
      if (url !== undefined) await page.goto(url);
      return page;
    },
    async close(): Promise<void> {
      await browser.close();
    },
  };
}

/** Opens the benchmark page in a new context and waits until window.swarmBench exists. */
export async function openBenchPage(bb: BenchBrowser, server: StaticServer): Promise<Page> {
  const page = await bb.newPage(server.benchPageUrl);
  await page.waitForFunction("window.swarmBench !== undefined", undefined, { timeout: 30_000 });
  return page;
}

export async function closePage(page: Page): Promise<void> {
  await page.context().close();
}

type Arg<K extends keyof BenchPageApi> = Parameters<BenchPageApi[K]>[0];
type Result<K extends keyof BenchPageApi> = Awaited<ReturnType<BenchPageApi[K]>>;

/**
 * Calls window.swarmBench[name](arg) in the page. The call is a string expression
 * on purpose: functions serialised from Node would carry the transpiler's helpers.
 */
export async function callPage<K extends keyof BenchPageApi>(page: Page, name: K, ...arg: Arg<K> extends undefined ? [] : [Arg<K>]): Promise<Result<K>> {
  const json = arg.length === 0 ? "" : JSON.stringify(arg[0]);
  return (await page.evaluate(`window.swarmBench.${name}(${json})`)) as Result<K>;
}

// ---------------------------------------------------------------------------
// Heap sampling

export interface HeapPeaks {
  /** Largest sum of the page's main-thread heap and its workers' heaps seen at one sample, bytes. */
  totalBytes: number;
  /** Largest main-thread JSHeapUsedSize seen, bytes. */
  mainBytes: number;
  /** Largest sum of the workers' heaps seen at one sample, bytes. */
  workersBytes: number;
  /** Most workers alive at one sample. */
  workers: number;
  /** Largest sum of all of the above plus the ArrayBuffers they hold (Runtime.getHeapUsage backingStorageSize), bytes. */
  withBuffersBytes: number;
}

export interface HeapSampler {
  /** Stops sampling and returns the peaks. */
  stop(): Promise<HeapPeaks>;
}

/**
 * Samples a page's JS heap every `intervalMs`: Performance.getMetrics'
 * JSHeapUsedSize for the main thread, plus Runtime.getHeapUsage of each of its
 * Web Workers (auto-attached through CDP, messages routed non-flattened so this
 * session does not disturb Playwright's own).
 */
export async function sampleHeap(page: Page, intervalMs = 200): Promise<HeapSampler> {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const workers = new Set<string>();
  const pending = new Map<number, (usage: HeapUsage) => void>();
  let nextId = 1;
  cdp.on("Target.attachedToTarget", (e) => {
    if (e.targetInfo.type === "worker") workers.add(e.sessionId);
  });
  cdp.on("Target.detachedFromTarget", (e) => {
    if (e.sessionId) workers.delete(e.sessionId);
  });
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    let reply: { id?: unknown; result?: unknown };
    try {
      reply = JSON.parse(e.message) as typeof reply;
    } catch {
      return;
    }
    const resolveReply = typeof reply.id === "number" ? pending.get(reply.id) : undefined;
    if (resolveReply && typeof reply.id === "number") {
      pending.delete(reply.id);
      resolveReply(heapUsage(reply.result));
    }
  });
  await cdp.send("Performance.enable");
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  const workerHeap = async (sessionId: string): Promise<HeapUsage> => {
    const id = nextId++;
    const reply = new Promise<HeapUsage>((resolveReply) => {
      pending.set(id, resolveReply);
      setTimeout(() => {
        if (pending.delete(id)) resolveReply(noUsage);
      }, 2_000);
    });
    await cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method: "Runtime.getHeapUsage" }) }).catch(() => undefined);
    return reply;
  };

  const peaks: HeapPeaks = { totalBytes: 0, mainBytes: 0, workersBytes: 0, workers: 0, withBuffersBytes: 0 };
  let stopped = false;
  const read = async (): Promise<void> => {
    const [{ metrics }, mainUsage, workerUsage] = await Promise.all([
      cdp.send("Performance.getMetrics"),
      cdp.send("Runtime.getHeapUsage").then(heapUsage, () => noUsage),
      Promise.all([...workers].map(workerHeap)),
    ]);
    const main = metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
    const inWorkers = workerUsage.reduce((a, b) => a + b.usedBytes, 0);
    const buffers = mainUsage.backingStorageBytes + workerUsage.reduce((a, b) => a + b.backingStorageBytes, 0);
    const total = main + inWorkers;
    peaks.workersBytes = Math.max(peaks.workersBytes, inWorkers);
    peaks.mainBytes = Math.max(peaks.mainBytes, main);
    peaks.totalBytes = Math.max(peaks.totalBytes, total);
    peaks.withBuffersBytes = Math.max(peaks.withBuffersBytes, total + buffers);
    peaks.workers = Math.max(peaks.workers, workerUsage.length);
  };
  const loop = (async () => {
    while (!stopped) {
      await read().catch(() => undefined);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop(): Promise<HeapPeaks> {
      if (stopped) return { ...peaks };
      await read().catch(() => undefined);
      stopped = true;
      await loop;
      await cdp.detach().catch(() => undefined);
      return { ...peaks };
    },
  };
}

interface HeapUsage {
  usedBytes: number;
  /** ArrayBuffer backing stores: outside the V8 heap, so not in JSHeapUsedSize. */
  backingStorageBytes: number;
}

const noUsage: HeapUsage = { usedBytes: 0, backingStorageBytes: 0 };

/** Runtime.getHeapUsage's result, checked (it crosses a process boundary as JSON). */
function heapUsage(result: unknown): HeapUsage {
  if (typeof result !== "object" || result === null) return noUsage;
  const r = result as { usedSize?: unknown; backingStorageSize?: unknown };
  return {
    usedBytes: typeof r.usedSize === "number" ? r.usedSize : 0,
    backingStorageBytes: typeof r.backingStorageSize === "number" ? r.backingStorageSize : 0,
  };
}
