// The whole path through real Chromium and the real tracker: one seed shares a
// folder, three downloaders in separate browser contexts open its link; one
// reloads mid-way and resumes; the seed leaves once the downloaders hold every
// piece between them, and they finish from each other. Every file each of them
// saves through "Save <file name>" must be byte-identical to the original.
import { readFileSync } from "node:fs";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";
import { expectAllSavedIdentical, makeFolder, progressOf, readStoredZip, screenshot, sha256, shareFolder, transfer, waitForProgress, waitForStatus } from "./helpers.ts";

test("a seed and three downloaders: resume after reload, finish from each other, byte-identical files", async ({ browser }) => {
  test.setTimeout(240_000);
  const folder = makeFolder("album", [
    { path: "a.bin", sizeBytes: 6_000_000 + 12_345 }, // not a multiple of any piece length
    { path: "empty.txt", sizeBytes: 0 },
    { path: "notes.txt", sizeBytes: 1_001 },
    { path: "sub/c.bin", sizeBytes: 8_388_608 + 7 },
    { path: "sub/deeper/d.bin", sizeBytes: 4_333_333 },
  ]);
  const contexts: BrowserContext[] = [];
  const open = async (): Promise<Page> => {
    const context = await browser.newContext({ acceptDownloads: true });
    contexts.push(context);
    return context.newPage();
  };

  try {
    const seed = await open();
    await seed.goto("/");
    const link = await shareFolder(seed, folder);
    await waitForStatus(seed, folder.name, "seeding");
    await expect(transfer(seed, folder.name).getByRole("button", { name: "Save sub/c.bin", exact: true })).toBeVisible();
    await screenshot(seed, "swarm-seed-shared");
    // Capped, so the 18 MB take the downloaders some seconds and the reload below lands mid-way (uncapped, loopback can deliver everything first).
    const limit = seed.getByLabel("Upload limit (KiB/s)", { exact: true });
    await limit.fill("1024");
    await limit.press("Enter");

    const downloaders: Page[] = [];
    for (let i = 0; i < 3; i++) {
      const page = await open();
      await page.goto(link);
      downloaders.push(page);
    }
    for (const page of downloaders) {
      const region = transfer(page, folder.name);
      await expect(region).toBeVisible({ timeout: 30_000 });
      await expect(region.getByText("empty.txt", { exact: true })).toBeVisible({ timeout: 60_000 });
      await expect(region.getByText("sub/deeper/d.bin", { exact: true })).toBeVisible();
    }

    // Reload the third downloader mid-way: it must come back with what it had.
    const [d0, d1, d2] = downloaders as [Page, Page, Page];
    await waitForProgress(d2, folder.name, 1);
    const before = await progressOf(d2, folder.name);
    await d2.reload();
    expect(before, "the reload happens mid-way").toBeLessThan(100);
    await screenshot(d0, "swarm-downloader-midway");
    await expect(transfer(d2, folder.name)).toBeVisible({ timeout: 30_000 });
    await waitForProgress(d2, folder.name, before, 30_000);

    // The seed leaves once its peers hold every piece between them.
    await expect
      .poll(
        async () => Number(await transfer(seed, folder.name).locator(".stat", { hasText: "Availability" }).locator("dd").textContent().catch(() => "0")),
        { timeout: 120_000, intervals: [100, 250] },
      )
      .toBeGreaterThanOrEqual(1);
    await seed.context().close();
    const atSeedExit = await Promise.all(downloaders.map((p) => progressOf(p, folder.name)));
    test.info().annotations.push({ type: "progress when the seed left", description: atSeedExit.join(", ") });
    console.log(`reloaded downloader at ${before}%; downloaders at ${atSeedExit.join("%, ")}% when the seed left`);
    await screenshot(d2, "swarm-downloader-after-seed-left");

    for (const page of downloaders) {
      await waitForProgress(page, folder.name, 100, 120_000);
      await waitForStatus(page, folder.name, "seeding", 30_000);
    }
    await screenshot(d0, "swarm-downloader-done");
    await d0.emulateMedia({ colorScheme: "dark" });
    await screenshot(d0, "swarm-downloader-done-dark");
    await d0.emulateMedia({ colorScheme: "light" });
    await d1.emulateMedia({ colorScheme: "dark" });
    await d1.setViewportSize({ width: 390, height: 844 });
    await screenshot(d1, "swarm-downloader-phone-dark");

    for (const page of [d0, d1, d2]) await expectAllSavedIdentical(page, folder);

    // The whole folder as one zip, streamed from stored pieces (the Blob fallback
    // browsers without showSaveFilePicker take; Chromium's picker is a native dialog).
    await d0.evaluate(() => Reflect.deleteProperty(window, "showSaveFilePicker"));
    const [zipDownload] = await Promise.all([d0.waitForEvent("download"), transfer(d0, folder.name).getByRole("button", { name: "Save all as zip" }).click()]);
    expect(zipDownload.suggestedFilename()).toBe("album.zip");
    const entries = readStoredZip(readFileSync(await zipDownload.path()));
    expect([...entries.keys()].sort()).toEqual([...folder.sha256.keys()].map((p) => `album/${p}`).sort());
    for (const [path, expected] of folder.sha256) expect(sha256(entries.get(`album/${path}`)!), `zip entry ${path}`).toBe(expected);
    // The reloaded downloader keeps seeding after it finished.
    await waitForStatus(d2, folder.name, "seeding", 5_000);
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
  }
});
