// The "Upload limit (KiB/s)" field in real Chromium: a sharer capped at 128 KiB/s
// takes seconds to send 1 MiB that loopback would carry in well under one, the
// file still arrives byte-identical, and the limit is still set after a reload.
import { expect, test, type Page } from "@playwright/test";
import { expectAllSavedIdentical, makeFolder, shareFolder, waitForProgress } from "./helpers.ts";

const label = "Upload limit (KiB/s)";

async function setLimit(page: Page, kib: string): Promise<void> {
  const field = page.getByLabel(label, { exact: true });
  await field.fill(kib);
  await field.press("Enter");
}

test("a sharer's upload limit holds its upload to the rate set, and is remembered", async ({ browser }) => {
  test.setTimeout(120_000);
  const sizeBytes = 1024 * 1024 + 333;
  const folder = makeFolder("capped", [{ path: "capped.bin", sizeBytes }], 31);
  const seedContext = await browser.newContext();
  const leechContext = await browser.newContext({ acceptDownloads: true });
  try {
    const seed = await seedContext.newPage();
    await seed.goto("/");
    await setLimit(seed, "-3");
    await expect(seed.getByRole("alert").filter({ hasText: "cannot be negative" })).toBeVisible();
    await setLimit(seed, "128");
    await expect(seed.getByRole("alert")).toHaveCount(0);
    const link = await shareFolder(seed, folder);

    const leech = await leechContext.newPage();
    const start = Date.now();
    await leech.goto(link);
    await waitForProgress(leech, folder.name, 100, 90_000);
    const seconds = (Date.now() - start) / 1000;
    // 1 MiB at 128 KiB/s is 8 s (less the limiter's half-second burst); uncapped it takes well under a second here.
    expect(seconds, `1 MiB from a sharer capped at 128 KiB/s took ${seconds.toFixed(1)} s`).toBeGreaterThan(6);
    await expectAllSavedIdentical(leech, folder);

    await seed.reload();
    await expect(seed.getByLabel(label, { exact: true })).toHaveValue("128");
  } finally {
    await seedContext.close();
    await leechContext.close();
  }
});
