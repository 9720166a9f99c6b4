// Reliability in real Chromium against a real tracker (issue 9): faults cost
// time, never data. Each test injects one fault into a live swarm of pages and
// then checks that every file a user saves is byte-identical to the original:
//  - the tracker process is killed (SIGKILL, by pid) mid-transfer and restarted
//    on the same port: connected pages keep exchanging, a newcomer joins after;
//  - churn: 8 pages in all, joining and leaving every few seconds;
//  - a downloader's renderer crashes (CDP Page.crash: no unload) mid-download,
//    and its browser profile is reopened from the same user-data-dir;
//  - IndexedDB is cleared under a running transfer (CDP Storage.clearDataForOrigin).
// Storage quota exceeded is covered by e2e/storage-full.spec.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { chromiumArgs, findChromium } from "./chromium.ts";
import { freePort } from "../tracker/process-harness.ts";
import { expectAllSavedIdentical, makeFolder, progressOf, shareFolder, transfer, waitForProgress, waitForStatus, type MadeFolder } from "./helpers.ts";

const root = resolve(import.meta.dirname, "..");

/** Our own tracker process (serving the built app), so this test may kill it. */
async function startTracker(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "tracker/main.ts"), "--port", String(port), "--host", "127.0.0.1", "--quiet"], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((done, reject) => {
    const timer = setTimeout(() => reject(new Error(`tracker did not start: ${output}`)), 20_000);
    const onData = (b: Buffer): void => {
      output += b.toString("utf8");
      if (/listening on/.test(output)) {
        clearTimeout(timer);
        done();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`tracker exited with ${code}: ${output}`)));
  });
  return child;
}

function killByPid(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
    child.once("exit", () => done());
    process.kill(child.pid, "SIGKILL");
  });
}

async function newPage(browser: Browser, contexts: BrowserContext[]): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true });
  contexts.push(context);
  return context.newPage();
}

async function launchProfile(dir: string): Promise<BrowserContext> {
  const executablePath = findChromium();
  return chromium.launchPersistentContext(dir, { args: chromiumArgs, acceptDownloads: true, ...(executablePath ? { executablePath } : {}) });
}

/** Recorded on the test and printed, so the figures show in the run's log. */
function note(a: { type: string; description: string }): void {
  test.info().annotations.push(a);
  console.log(`[reliability] ${test.info().title.slice(0, 40)}…: ${a.type}: ${a.description}`);
}

/** Every transfer message the page shows for this transfer (errors, warnings). */
async function messagesOf(page: Page, name: string): Promise<string[]> {
  return transfer(page, name).locator("li.message").allTextContents();
}

test.describe("reliability under faults", () => {
  test("tracker killed mid-transfer: connected pages finish without it; restarted on the same port, a newcomer joins and finishes", async ({ browser }) => {
    test.setTimeout(240_000);
    const port = await freePort();
    const base = `http://localhost:${port}`;
    let tracker = await startTracker(port);
    const contexts: BrowserContext[] = [];
    const folder = makeFolder("tracker-fault", [{ path: "big.bin", sizeBytes: 40 * 1024 * 1024 + 321 }], 91);
    try {
      const seed = await newPage(browser, contexts);
      await seed.goto(`${base}/`);
      const link = await shareFolder(seed, folder);
      await waitForStatus(seed, folder.name, "seeding");
      const d1 = await newPage(browser, contexts);
      await d1.goto(link);
      await waitForProgress(d1, folder.name, 1, 90_000);

      await killByPid(tracker);
      const atKill = await progressOf(d1, folder.name);
      note({ type: "progress when the tracker was killed", description: `${atKill}%` });
      expect(atKill, "the tracker dies mid-transfer").toBeLessThan(100);
      // The page says the tracker is gone and that connected peers keep going.
      await expect.poll(async () => (await messagesOf(d1, folder.name)).join(" "), { timeout: 30_000 }).toMatch(/unreachable|keep going|retrying/i);
      await waitForProgress(d1, folder.name, 100, 120_000);
      expect(tracker.exitCode !== null || tracker.signalCode !== null, "finished while the tracker was down").toBe(true);
      await expectAllSavedIdentical(d1, folder);

      tracker = await startTracker(port);
      const d2 = await newPage(browser, contexts);
      await d2.goto(link);
      await waitForProgress(d2, folder.name, 100, 150_000);
      await expectAllSavedIdentical(d2, folder);
    } finally {
      for (const c of contexts) await c.close().catch(() => undefined);
      await killByPid(tracker);
    }
  });

  test("churn: 8 pages, peers join and leave mid-transfer, everyone who stays finishes byte-identical", async ({ browser }) => {
    test.setTimeout(240_000);
    const contexts: BrowserContext[] = [];
    const folder = makeFolder("churn", [
      { path: "a.bin", sizeBytes: 20 * 1024 * 1024 + 17 },
      { path: "b/c.bin", sizeBytes: 8 * 1024 * 1024 + 999 },
    ], 92);
    const pace = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    try {
      const seed = await newPage(browser, contexts);
      await seed.goto("/");
      const link = await shareFolder(seed, folder);
      await waitForStatus(seed, folder.name, "seeding");
      const stayers: Page[] = [];
      const join = async (): Promise<Page> => {
        const p = await newPage(browser, contexts);
        await p.goto(link);
        return p;
      };
      const leave = async (p: Page): Promise<number> => {
        const at = await progressOf(p, folder.name).catch(() => -1);
        await p.context().close();
        return at;
      };
      // 1 seed + 7 downloaders: 4 stay, 3 leave mid-way. Joins are paced ~1 s apart; each
      // leaver closes its context as soon as it holds 5% (so it leaves while pieces are moving).
      const leaveMidway = async (p: Page): Promise<number> => {
        await waitForProgress(p, folder.name, 5, 90_000);
        return leave(p);
      };
      stayers.push(await join());
      const l1 = await join();
      await pace(1_000);
      stayers.push(await join());
      const l2 = await join();
      const left: number[] = [await leaveMidway(l1)];
      stayers.push(await join());
      const l3 = await join();
      left.push(await leaveMidway(l2));
      await pace(1_000);
      left.push(await leaveMidway(l3));
      stayers.push(await join());
      note({ type: "leavers' progress when they left", description: left.join("%, ") + "%" });
      expect(left.filter((p) => p < 100).length, "leavers leave mid-transfer").toBeGreaterThanOrEqual(2);
      expect(stayers).toHaveLength(4);
      for (const p of stayers) await waitForProgress(p, folder.name, 100, 150_000);
      for (const p of stayers) await expectAllSavedIdentical(p, folder);
    } finally {
      for (const c of contexts) await c.close().catch(() => undefined);
    }
  });

  test("a downloader's page crashes three times mid-download; each time its profile reopened resumes, keeps only verified pieces and finishes byte-identical", async ({ browser, baseURL }) => {
    test.setTimeout(240_000);
    const contexts: BrowserContext[] = [];
    const profile = mkdtempSync(join(tmpdir(), "swarmdrop-crash-profile-"));
    const folder = makeFolder("crash", [{ path: "file.bin", sizeBytes: 24 * 1024 * 1024 + 4_321 }], 93);
    let downloader: BrowserContext | null = null;
    try {
      const seed = await newPage(browser, contexts);
      await seed.goto("/");
      const link = await shareFolder(seed, folder);
      await waitForStatus(seed, folder.name, "seeding");

      // Three crashes, at 10%, 35% and 60% (or wherever the next poll lands): the renderer dies
      // between pieces being written and whatever comes next: no unload, no cleanup.
      const crashedAt: number[] = [];
      let url = link;
      for (const threshold of [10, 35, 60]) {
        downloader = await launchProfile(profile);
        const page = downloader.pages()[0] ?? (await downloader.newPage());
        await page.goto(url);
        url = `${baseURL}/`; // reopened, the app resumes from what it stored
        await expect(transfer(page, folder.name)).toBeVisible({ timeout: 30_000 });
        await waitForProgress(page, folder.name, threshold, 90_000);
        const cdp = await downloader.newCDPSession(page);
        const before = await progressOf(page, folder.name);
        // Page.crash never answers (the renderer is gone): do not wait for its reply.
        void cdp.send("Page.crash").catch(() => undefined);
        await page.waitForEvent("crash", { timeout: 10_000 });
        await downloader.close();
        downloader = null;
        crashedAt.push(before);
      }
      note({ type: "progress when the page crashed", description: crashedAt.join("%, ") + "%" });
      expect(crashedAt.filter((p) => p < 100).length, "crashes happen mid-download").toBeGreaterThanOrEqual(2);

      downloader = await launchProfile(profile);
      const again = downloader.pages()[0] ?? (await downloader.newPage());
      await again.goto(`${baseURL}/`);
      await expect(transfer(again, folder.name)).toBeVisible({ timeout: 30_000 });
      await waitForProgress(again, folder.name, 100, 150_000);
      await waitForStatus(again, folder.name, "seeding", 30_000);
      await expectAllSavedIdentical(again, folder);
    } finally {
      await downloader?.close().catch(() => undefined);
      for (const c of contexts) await c.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    }
  });

  test("IndexedDB cleared under a running download: no wrong byte is ever saved; the transfer recovers or says why it stopped", async ({ browser, baseURL }) => {
    test.setTimeout(240_000);
    const contexts: BrowserContext[] = [];
    const folder: MadeFolder = makeFolder("cleared", [{ path: "file.bin", sizeBytes: 24 * 1024 * 1024 + 77 }], 94);
    try {
      const seed = await newPage(browser, contexts);
      await seed.goto("/");
      const link = await shareFolder(seed, folder);
      await waitForStatus(seed, folder.name, "seeding");
      const page = await newPage(browser, contexts);
      await page.goto(link);
      await waitForProgress(page, folder.name, 10, 90_000);
      const cdp = await page.context().newCDPSession(page);
      const before = await progressOf(page, folder.name);
      await cdp.send("Storage.clearDataForOrigin", { origin: new URL(baseURL ?? "").origin, storageTypes: "indexeddb" });
      note({ type: "progress when IndexedDB was cleared", description: `${before}%` });
      expect(before).toBeLessThan(100);

      // Either it finishes (and every saved byte is right), or it stops and says why. Silence is a failure.
      const outcome = await expect
        .poll(
          async () => {
            const status = await transfer(page, folder.name).getAttribute("data-status").catch(() => null);
            if (status === "seeding") return "finished";
            if (status === "error" || status === "paused") return (await messagesOf(page, folder.name)).length > 0 ? "stopped with a message" : "stopped silently";
            return "running";
          },
          { timeout: 150_000, intervals: [500] },
        )
        .not.toBe("running")
        .then(async () => transfer(page, folder.name).getAttribute("data-status"));
      note({ type: "outcome", description: `${String(outcome)}: ${(await messagesOf(page, folder.name)).join(" | ")}` });
      if (outcome === "seeding") await expectAllSavedIdentical(page, folder);
      else expect((await messagesOf(page, folder.name)).join(" ")).not.toBe("");

      if (outcome === "paused") {
        // The pieces were wiped, not short of space: the page must not say otherwise.
        expect((await messagesOf(page, folder.name)).join(" ")).not.toMatch(/Free some space|Nothing is lost|are kept/i);
        // The user does what the page says: Resume. Does it recover without a reload?
        await transfer(page, folder.name).getByRole("button", { name: "Resume" }).click();
        const resumed = await waitForStatus(page, folder.name, "seeding", 30_000)
          .then(() => "finished after Resume")
          .catch(async () => `not finished 30 s after Resume: ${await transfer(page, folder.name).getAttribute("data-status")}: ${(await messagesOf(page, folder.name)).join(" | ")}`);
        note({ type: "after Resume", description: resumed });
        if (resumed === "finished after Resume") await expectAllSavedIdentical(page, folder);
      }

      // After a reload (and opening the link again if the transfer was forgotten with its storage), it finishes byte-identical.
      await page.reload();
      const shown = await transfer(page, folder.name)
        .waitFor({ timeout: 10_000 })
        .then(() => true)
        .catch(() => false);
      note({ type: "transfer still listed after reload", description: String(shown) });
      if (!shown) await page.goto(link);
      await waitForProgress(page, folder.name, 100, 150_000);
      await expectAllSavedIdentical(page, folder);
    } finally {
      for (const c of contexts) await c.close().catch(() => undefined);
    }
  });
});

// A sharer whose browser storage is cleared while it seeds from it: its reads
// fail, so it stops claiming those pieces and says so on its card; the
// downloader, whose requests for them are rejected, says they are not
// available from any connected peer (BitTorrent cannot withdraw a `have`).
test.describe("a sharer's storage cleared under it", () => {
  test("a sharer's storage cleared while it seeds from it: the downloader finishes or is told why it cannot", async ({ browser, baseURL }) => {
    test.setTimeout(180_000);
    const contexts: BrowserContext[] = [];
    const folder = makeFolder("wiped-seed", [{ path: "file.bin", sizeBytes: 8 * 1024 * 1024 + 5 }], 95);
    try {
      const sharer = await newPage(browser, contexts);
      await sharer.goto("/");
      const link = await shareFolder(sharer, folder);
      await waitForStatus(sharer, folder.name, "seeding");
      // Wait for the stored copy, then reload so the sharer seeds from IndexedDB alone.
      const region = transfer(sharer, folder.name);
      await region.getByRole("button", { name: "Remove…" }).click();
      await expect(sharer.getByRole("alertdialog")).toContainText("8.4 MB of stored data", { timeout: 60_000 });
      await sharer.getByRole("button", { name: "Keep" }).click();
      await sharer.reload();
      await waitForStatus(sharer, folder.name, "seeding", 30_000);
      const cdp = await sharer.context().newCDPSession(sharer);
      await cdp.send("Storage.clearDataForOrigin", { origin: new URL(baseURL ?? "").origin, storageTypes: "indexeddb" });

      const d = await newPage(browser, contexts);
      await d.goto(link);
      // Finished byte-identical, or an error/warning telling the user this transfer cannot go on.
      const state = async (): Promise<string> => {
        if ((await progressOf(d, folder.name).catch(() => 0)) === 100) return "finished";
        const told = await transfer(d, folder.name).locator("li.message.error, li.message.warning").allTextContents();
        return told.length > 0 ? `told: ${told.join(" | ")}` : `silent at ${await progressOf(d, folder.name).catch(() => -1)}%: ${(await messagesOf(d, folder.name)).join(" | ")}`;
      };
      let outcome = "";
      await expect.poll(async () => (outcome = await state()), { timeout: 60_000, intervals: [1_000] }).not.toMatch(/^silent/);
      note({ type: "downloader", description: outcome });
      if (outcome === "finished") await expectAllSavedIdentical(d, folder);
      else expect(outcome).toMatch(/pieces? \([^)]+\) (are|is) not available from any connected peer/);

      // The sharer is told its copy lost pieces, which it no longer offers.
      await expect
        .poll(async () => (await transfer(sharer, folder.name).locator("li.message.warning").allTextContents()).join(" | "), { timeout: 30_000 })
        .toMatch(/\d+ pieces? of “wiped-seed[^”]*” (are|is) no longer in this browser's storage/);
      note({ type: "sharer", description: (await messagesOf(sharer, folder.name)).join(" | ") });
      expect(await transfer(sharer, folder.name).getAttribute("data-status")).not.toBe("seeding");
    } finally {
      for (const c of contexts) await c.close().catch(() => undefined);
    }
  });
});
