// Errors a person must understand, in a real browser: no WebRTC, no IndexedDB,
// an unreachable tracker (retrying, with a countdown) and no peers yet, and a
// storage quota too small for a download (paused, explained, nothing lost), and
// a peer sending corrupt data (the headless CLI peer seeding a file changed
// after hashing): banned, counted on the page, and the file still arrives intact.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { makeFolder, progressOf, screenshot, sha256, shareFolder, transfer, waitForProgress, waitForStatus } from "./helpers.ts";

test("a browser without WebRTC is told why SwarmDrop cannot run", async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    delete w.RTCPeerConnection;
    delete w.webkitRTCPeerConnection;
    delete w.RTCDataChannel;
  });
  await page.goto("/");
  const alert = page.getByRole("alert").filter({ hasText: "This browser cannot run SwarmDrop" });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/WebRTC/);
  await expect(page.getByLabel("Add files")).toHaveCount(0);
  await screenshot(page, "errors-no-webrtc");
});

test("a browser without IndexedDB is told why SwarmDrop cannot run", async ({ page }) => {
  await page.addInitScript(() => {
    Object.defineProperty(window, "indexedDB", { value: undefined, configurable: true });
  });
  await page.goto("/");
  const alert = page.getByRole("alert").filter({ hasText: "This browser cannot run SwarmDrop" });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/IndexedDB|storage/i);
});

test("an unreachable tracker shows a retry countdown, and no peers says to keep the sharing page open", async ({ page }) => {
  const hash = "9f".repeat(20);
  await page.goto(`/#magnet:?xt=urn:btih:${hash}&dn=lonely&tr=${encodeURIComponent("ws://127.0.0.1:9/announce")}`);
  const region = transfer(page, "lonely");
  await expect(region).toBeVisible();
  await expect(region.getByText("Waiting for peers — keep this page open on the sharing device")).toBeVisible();
  const retry = region.getByText(/127\.0\.0\.1:9 unreachable.*Retrying in \d+ s/);
  await expect(retry).toBeVisible({ timeout: 30_000 });
  const first = await retry.textContent();
  await expect.poll(async () => retry.textContent().catch(() => first), { timeout: 5_000 }).not.toBe(first);
  await screenshot(page, "errors-tracker-retrying");
});

test("a download past the storage quota pauses, explains, and resumes with nothing lost", async ({ browser }) => {
  test.setTimeout(120_000);
  const folder = makeFolder("big", [{ path: "one.bin", sizeBytes: 6_000_000 }, { path: "two.bin", sizeBytes: 6_000_001 }], 7);
  const seedContext = await browser.newContext();
  const leechContext = await browser.newContext({ acceptDownloads: true });
  try {
    const seed = await seedContext.newPage();
    await seed.goto("/");
    const link = await shareFolder(seed, folder);
    await waitForStatus(seed, folder.name, "seeding");

    const leech = await leechContext.newPage();
    await leech.goto("/");
    const origin = new URL(leech.url()).origin;
    const cdp = await leechContext.newCDPSession(leech);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 4_000_000 });
    await leech.goto(link);
    await waitForStatus(leech, folder.name, "paused", 90_000);
    const region = transfer(leech, folder.name);
    await expect(region.getByText(/^Paused: .*storage.*(are kept|Nothing is lost)/i)).toBeVisible();
    await screenshot(leech, "errors-storage-full");
    const kept = Number(await region.getByRole("progressbar", { name: `${folder.name} progress` }).getAttribute("aria-valuenow"));

    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 200_000_000 });
    await region.getByRole("button", { name: "Resume" }).click();
    await waitForProgress(leech, folder.name, Math.max(kept, 1));
    await waitForProgress(leech, folder.name, 100, 90_000);
  } finally {
    await leechContext.close().catch(() => {});
    await seedContext.close().catch(() => {});
  }
});

test("a peer sending corrupt data is banned and shown, and the download still finishes intact", async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const folder = makeFolder("poem", [{ path: "poem.bin", sizeBytes: 3_000_017 }], 11);
  const original = join(folder.dir, "poem.bin");
  // The headless peer seeds its own copy, which is corrupted once hashed.
  const cliDir = mkdtempSync(join(tmpdir(), "swarmdrop-corrupt-"));
  const cliCopy = join(cliDir, "poem.bin");
  copyFileSync(original, cliCopy);
  const tracker = `${(baseURL ?? "").replace(/^http/, "ws")}/announce`;
  const cli = spawn(process.execPath, ["cli/swarmdrop.mjs", "seed", cliCopy, "--tracker", tracker, "--app-url", baseURL ?? "", "--no-qr", "--state-dir", cliDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const seedContext = await browser.newContext();
  const leechContext = await browser.newContext({ acceptDownloads: true });
  try {
    const cliLink = await new Promise<string>((resolve, reject) => {
      let out = "";
      cli.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        const m = /(\S+#magnet:\?xt=urn:btih:[0-9a-f]{40}\S*)/i.exec(out);
        if (m) resolve(m[1]!);
      });
      cli.once("exit", (code) => reject(new Error(`the headless peer exited (${code}): ${out}`)));
    });
    // Same bytes, now wrong: every piece it sends fails its SHA-1 check.
    const bad = readFileSync(cliCopy);
    for (let i = 0; i < bad.length; i++) bad[i] = bad[i]! ^ 0x5a;
    writeFileSync(cliCopy, bad);

    // The downloader first meets only the corrupt peer, so it must ban it...
    const leech = await leechContext.newPage();
    await leech.goto(cliLink);
    const region = transfer(leech, "poem.bin");
    await expect(region.getByText(/1 peer sent corrupt data and was banned|\d+ peers sent corrupt data and were banned/)).toBeVisible({ timeout: 90_000 });
    expect(await progressOf(leech, "poem.bin")).toBe(0);

    // ...then an honest seed of the same torrent appears, and the file arrives intact.
    const seed = await seedContext.newPage();
    await seed.goto("/");
    await seed.getByLabel("Add files").setInputFiles(original);
    const link = await transfer(seed, "poem.bin").getByLabel("Share link").inputValue({ timeout: 30_000 });
    expect(link, "the browser and the headless peer made the same torrent").toContain(/btih:([0-9a-f]{40})/i.exec(cliLink)![1]!.toLowerCase());
    await waitForProgress(leech, "poem.bin", 100, 90_000);
    await screenshot(leech, "errors-corrupt-peer-banned");
    const [download] = await Promise.all([leech.waitForEvent("download"), region.getByRole("button", { name: "Save poem.bin", exact: true }).click()]);
    expect(sha256(readFileSync(await download.path()))).toBe(folder.sha256.get("poem.bin"));
  } finally {
    cli.kill("SIGINT");
    await leechContext.close().catch(() => {});
    await seedContext.close().catch(() => {});
    rmSync(cliDir, { recursive: true, force: true });
  }
});
