// Seeding from IndexedDB after reloads, in real Chromium against the real
// tracker. The sharer reloads once its background copy is stored and keeps
// seeding without its files; downloader A gets the file, reloads, and keeps
// seeding from its stored pieces; the sharer leaves; downloader B then gets
// the whole file from A alone. Both saved files must be byte-identical.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";

const region = (page: Page, name: string) => page.getByRole("region", { name, exact: true });

async function savedSha256(page: Page, name: string): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent("download"), region(page, name).getByRole("button", { name: `Save ${name}`, exact: true }).click()]);
  return createHash("sha256").update(readFileSync(await download.path())).digest("hex");
}

test("a reloaded sharer and a reloaded downloader keep seeding from browser storage", async ({ browser }) => {
  test.setTimeout(240_000);
  const name = "resume-test.bin";
  const sizeBytes = 12 * 1024 * 1024 + 4321;
  const bytes = new Uint8Array(sizeBytes);
  let x = 7;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-resume-")), name);
  writeFileSync(path, bytes);
  const expected = createHash("sha256").update(bytes).digest("hex");

  const sharerContext = await browser.newContext();
  const aContext = await browser.newContext({ acceptDownloads: true });
  const bContext = await browser.newContext({ acceptDownloads: true });
  try {
    const sharer = await sharerContext.newPage();
    await sharer.goto("/");
    await sharer.getByLabel("Add files").setInputFiles(path);
    await expect(region(sharer, name)).toHaveAttribute("data-status", "seeding", { timeout: 60_000 });
    const link = await region(sharer, name).getByLabel("Share link").inputValue();
    // The remove dialog tells how much is kept in this browser: wait for the whole copy.
    await region(sharer, name).getByRole("button", { name: "Remove…" }).click();
    await expect(sharer.getByRole("alertdialog")).toContainText("12.6 MB of stored data", { timeout: 60_000 });
    await sharer.getByRole("button", { name: "Keep" }).click();
    await sharer.reload();
    await expect(region(sharer, name)).toHaveAttribute("data-status", "seeding", { timeout: 30_000 });

    const a = await aContext.newPage();
    await a.goto(link);
    await expect(region(a, name)).toHaveAttribute("data-status", "seeding", { timeout: 120_000 });
    expect(await savedSha256(a, name)).toBe(expected);
    await a.reload();
    await expect(region(a, name)).toHaveAttribute("data-status", "seeding", { timeout: 30_000 });

    await sharerContext.close();
    const b = await bContext.newPage();
    await b.goto(link);
    await expect(region(b, name)).toHaveAttribute("data-status", "seeding", { timeout: 120_000 });
    await b.screenshot({ path: "test-results/screens/swarm-resume-b-done.png", fullPage: true });
    expect(await savedSha256(b, name)).toBe(expected);
  } finally {
    for (const c of [sharerContext, aContext, bContext]) await c.close().catch(() => undefined);
  }
});
