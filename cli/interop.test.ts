// Interop: the swarmdrop commands against WebTorrent 3 (the reference
// browser client, test-only, from .reference/) running in headless Chromium,
// through the reference WebSocket tracker on loopback.
//   - `swarmdrop seed` -> WebTorrent downloads it from the printed magnet link;
//   - WebTorrent seeds -> `swarmdrop get <its magnet>` downloads it.
// Bytes are compared by SHA-256.
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "@playwright/test";
import { sha256Hex } from "../core/bytes.ts";
import { chromiumArgs, findChromium } from "../e2e/chromium.ts";
import { ExitCode } from "./args.ts";
import { main, type MainIo } from "./main.ts";
import { haveReferenceTracker, startReferenceTracker, wrtcLoads, type RunningReferenceTracker } from "./test-reference-tracker.ts";

const root = resolve(import.meta.dirname, "..");
const webtorrentBundle = join(root, ".reference", "node_modules", "webtorrent", "dist", "webtorrent.min.js");
const fixtures = join(root, "node_modules", "webtorrent-fixtures", "fixtures");

function chromiumPath(): string | undefined | null {
  try {
    return findChromium();
  } catch {
    return null;
  }
}
const executable = chromiumPath();
const available = ((): boolean => {
  return executable !== null && haveReferenceTracker && existsSync(webtorrentBundle) && wrtcLoads;
})();

// Locally a missing reference peer or Chromium skips these tests; under CI it is an error.
if (!available && process.env["CI"]) throw new Error("interop tests need Chromium, @roamhq/wrtc and .reference/ (scripts/install-reference.sh)");



// Page-side code, kept as plain JavaScript (it runs in Chromium, untranspiled).
const pageLib = `
window.interop = {
  async client() {
    if (!window.wt) {
      const mod = await import("/webtorrent.min.js");
      // No STUN: peers meet on this machine's own addresses.
      window.wt = new mod.default({ tracker: { rtcConfig: { iceServers: [] } }, dht: false, lsd: false, utp: false });
    }
    return window.wt;
  },
  async sha256(bytes) {
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  },
  async download(magnet, tracker, timeoutMs) {
    const wt = await this.client();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("WebTorrent download timed out: " + torrent.downloaded + " bytes, " + torrent.numPeers + " peers")), timeoutMs);
      wt.on("error", (err) => reject(new Error(String(err && err.message || err))));
      const torrent = wt.add(magnet, { announce: [tracker] });
      torrent.on("done", async () => {
        clearTimeout(timer);
        const file = torrent.files[0];
        const bytes = new Uint8Array(await file.arrayBuffer());
        resolve({ name: file.name, length: bytes.length, sha256: await this.sha256(bytes), infoHash: torrent.infoHash });
      });
    });
  },
  async seed(name, length, seed, tracker) {
    const wt = await this.client();
    const bytes = new Uint8Array(length);
    let x = seed >>> 0;
    for (let i = 0; i < length; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; bytes[i] = x >>> 24; }
    const sha256 = await this.sha256(bytes);
    return new Promise((resolve, reject) => {
      wt.on("error", (err) => reject(new Error(String(err && err.message || err))));
      wt.seed(new File([bytes], name), { announce: [tracker], name }, (torrent) => resolve({ magnetURI: torrent.magnetURI, infoHash: torrent.infoHash, sha256 }));
    });
  },
};
`;

function streams(signal: AbortSignal, stateDir: string): MainIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    signal,
    env: { XDG_STATE_HOME: stateDir },
    out: () => out,
    err: () => err,
  };
}

describe.skipIf(!available)("swarmdrop <-> WebTorrent (.reference/, version 3) in Chromium (loopback)", () => {
  let server: RunningReferenceTracker | undefined;
  // A real loopback HTTP server for the page: 127.0.0.1 is a secure context
  // (WebTorrent needs crypto.subtle), and Chromium's local network access checks
  // let a loopback page reach the loopback tracker.
  let pages: Server | undefined;
  let pageOrigin: string;
  let tracker: string;
  let browser: Browser | undefined;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    server = await startReferenceTracker();
    tracker = server.url;
    const bundle = readFileSync(webtorrentBundle);
    pages = createServer((req, res) => {
      if (req.url === "/webtorrent.min.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(bundle);
        return;
      }
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>interop</title>");
    });
    await new Promise<void>((done) => pages!.listen(0, "127.0.0.1", done));
    pageOrigin = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    browser = await chromium.launch({ ...(typeof executable === "string" ? { executablePath: executable } : {}), args: chromiumArgs });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (pages !== undefined) await new Promise<void>((done) => pages!.close(() => done()));
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "swarmdrop-interop-"));
    page = await browser!.newPage();
    await page.goto(`${pageOrigin}/`);
    await page.evaluate(pageLib);
  });
  afterEach(async () => {
    await page.evaluate("window.wt ? new Promise((r) => window.wt.destroy(() => r())) : null").catch(() => undefined);
    await page.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("WebTorrent downloads what `swarmdrop seed` shares", async () => {
    const stop = new AbortController();
    const seedIo = streams(stop.signal, join(dir, "state"));
    const seeding = main(["seed", join(fixtures, "alice.txt"), "--tracker", tracker, "--no-qr"], seedIo);
    try {
      const start = performance.now();
      while (!seedIo.out().includes("Magnet link")) {
        if (performance.now() - start > 20_000) throw new Error(`no magnet link: ${seedIo.err()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const magnet = seedIo.out().split("\n").map((l) => l.trim()).find((l) => l.startsWith("magnet:?"))!;
      const got = (await page.evaluate(`window.interop.download(${JSON.stringify(magnet)}, ${JSON.stringify(tracker)}, 30000)`)) as { name: string; length: number; sha256: string; infoHash: string };
      expect(got.infoHash).toBe("722fe65b2aa26d14f35b4ad627d20236e481d924"); // alice.torrent's published infohash
      expect(got.name).toBe("alice.txt");
      expect(got.sha256).toBe(await sha256Hex(await readFile(join(fixtures, "alice.txt"))));
    } finally {
      stop.abort();
      expect(await seeding).toBe(ExitCode.interrupted);
    }
  }, 60_000);

  it("`swarmdrop get` downloads what WebTorrent seeds, from its magnet link", async () => {
    const seeded = (await page.evaluate(`window.interop.seed("pattern.bin", 1500000, 7, ${JSON.stringify(tracker)})`)) as { magnetURI: string; infoHash: string; sha256: string };
    const out = join(dir, "downloads");
    const giveUp = new AbortController();
    const timer = setTimeout(() => giveUp.abort(), 40_000); // a failure exits 130 instead of hanging
    const getIo = streams(giveUp.signal, join(dir, "state"));
    const code = await main(["get", seeded.magnetURI, "--out", out], getIo).finally(() => clearTimeout(timer));
    expect(getIo.err()).toMatch(/download complete/);
    expect(code).toBe(ExitCode.ok);
    expect(getIo.err()).toMatch(/peer joined: WW/); // WebTorrent's peer id prefix
    expect(await sha256Hex(await readFile(join(out, "pattern.bin")))).toBe(seeded.sha256);
  }, 60_000);
});
