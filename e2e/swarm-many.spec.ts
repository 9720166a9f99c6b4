// A small swarm in real Chromium against the real tracker: one sharer and
// three downloaders that join at once. Every downloader must end with a
// byte-identical file, and the downloaders must have traded pieces among
// themselves (some uploaded bytes on a downloader), which needs the tracker
// client's offers and answers between downloaders and one channel per pair.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type BrowserContext, type Page } from "@playwright/test";

const region = (page: Page, name: string) => page.getByRole("region", { name, exact: true });
const stat = (page: Page, name: string, label: string) => region(page, name).locator(".stat", { has: page.locator("dt", { hasText: label }) }).locator("dd");

test("three downloaders joining at once finish byte-identical and trade pieces among themselves", async ({ browser }) => {
  test.setTimeout(240_000);
  const name = "swarm-many.bin";
  const sizeBytes = 20 * 1024 * 1024 + 999;
  const bytes = new Uint8Array(sizeBytes);
  let x = 1234;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-many-")), name);
  writeFileSync(path, bytes);
  const expected = createHash("sha256").update(bytes).digest("hex");

  const contexts: BrowserContext[] = [];
  try {
    const open = async (): Promise<Page> => {
      const c = await browser.newContext({ acceptDownloads: true });
      contexts.push(c);
      return c.newPage();
    };
    const sharer = await open();
    await sharer.goto("/");
    await sharer.getByLabel("Add files").setInputFiles(path);
    await expect(region(sharer, name)).toHaveAttribute("data-status", "seeding", { timeout: 60_000 });
    const link = await region(sharer, name).getByLabel("Share link").inputValue();

    const downloaders = await Promise.all([open(), open(), open()]);
    await Promise.all(downloaders.map((p) => p.goto(link)));
    for (const p of downloaders) await expect(region(p, name)).toHaveAttribute("data-status", "seeding", { timeout: 180_000 });
    await downloaders[0]!.screenshot({ path: "test-results/screens/swarm-many-done.png", fullPage: true });

    const uploaded = await Promise.all(downloaders.map((p) => stat(p, name, "Uploaded").textContent()));
    test.info().annotations.push({ type: "uploaded by downloaders", description: uploaded.join(", ") });
    expect(uploaded.some((text) => text !== null && text !== "0 B"), `downloaders uploaded ${uploaded.join(", ")}`).toBe(true);
    const peers = await Promise.all(downloaders.map((p) => stat(p, name, "Peers").textContent()));
    test.info().annotations.push({ type: "peers per downloader", description: peers.join(", ") });
    // The sharer and at least one other downloader: downloaders found each other through the tracker.
    for (const p of peers) expect(Number(p)).toBeGreaterThanOrEqual(2);

    for (const p of downloaders) {
      const [download] = await Promise.all([p.waitForEvent("download"), region(p, name).getByRole("button", { name: `Save ${name}`, exact: true }).click()]);
      expect(createHash("sha256").update(readFileSync(await download.path())).digest("hex")).toBe(expected);
    }
  } finally {
    for (const c of contexts) await c.close().catch(() => undefined);
  }
});
