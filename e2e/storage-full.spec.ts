// Full browser storage in real Chromium: the downloader's origin gets a small
// IndexedDB quota (DevTools protocol Storage.overrideQuotaForOrigin), so piece
// writes fail with a real QuotaExceededError. The transfer must pause and say
// why, keep what it stored (also across a reload), and, once space is back
// and the user resumes, finish with a byte-identical file.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";

const region = (page: Page, name: string) => page.getByRole("region", { name, exact: true });

test("storage full pauses the download with an explanation, keeps its pieces, and resumes when space is back", async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const name = "quota-test.bin";
  const sizeBytes = 16 * 1024 * 1024 + 777;
  const bytes = new Uint8Array(sizeBytes);
  let x = 99;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-quota-")), name);
  writeFileSync(path, bytes);
  const expected = createHash("sha256").update(bytes).digest("hex");

  const seederContext = await browser.newContext();
  const leecherContext = await browser.newContext({ acceptDownloads: true });
  try {
    const seeder = await seederContext.newPage();
    await seeder.goto("/");
    await seeder.getByLabel("Add files").setInputFiles(path);
    await expect(region(seeder, name)).toHaveAttribute("data-status", "seeding", { timeout: 60_000 });
    const link = await region(seeder, name).getByLabel("Share link").inputValue();

    const leecher = await leecherContext.newPage();
    await leecher.goto("/");
    const cdp = await leecherContext.newCDPSession(leecher);
    const origin = new URL(baseURL!).origin;
    await cdp.send("Storage.overrideQuotaForOrigin", { origin, quotaSize: 6 * 1024 * 1024 });
    await leecher.goto(link);
    const joined = region(leecher, name);
    await expect(joined).toHaveAttribute("data-status", "paused", { timeout: 90_000 });
    await expect(joined.getByText(/storage is full/i).first()).toBeVisible();
    await leecher.screenshot({ path: "test-results/screens/storage-full-paused.png", fullPage: true });
    const shownBefore = await joined.getByRole("progressbar", { name: `${name} progress` }).first().getAttribute("aria-valuenow");
    expect(Number(shownBefore)).toBeGreaterThan(0);
    expect(Number(shownBefore)).toBeLessThan(100);

    // A reload keeps what was stored: the transfer comes back with at least that much,
    // tries again, and pauses again on the same full storage.
    await leecher.reload();
    await expect(joined).toHaveAttribute("data-status", "paused", { timeout: 90_000 });
    const shownAfterReload = await joined.getByRole("progressbar", { name: `${name} progress` }).first().getAttribute("aria-valuenow");
    expect(Number(shownAfterReload)).toBeGreaterThanOrEqual(Number(shownBefore));

    // Space is back: the user resumes and the download finishes from where it was.
    await cdp.send("Storage.overrideQuotaForOrigin", { origin });
    await joined.getByRole("button", { name: "Resume" }).click();
    await expect(joined).toHaveAttribute("data-status", "seeding", { timeout: 120_000 });
    const [download] = await Promise.all([leecher.waitForEvent("download"), joined.getByRole("button", { name: `Save ${name}`, exact: true }).click()]);
    expect(createHash("sha256").update(readFileSync(await download.path())).digest("hex")).toBe(expected);
  } finally {
    await seederContext.close();
    await leecherContext.close();
  }
});
