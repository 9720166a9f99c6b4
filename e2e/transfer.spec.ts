// The swarm side end to end in real Chromium against the real tracker: one
// browser context shares a generated file through "Add files" (hashing in
// workers, IndexedDB copy), a second context opens the share link (tracker
// offers/answers, simple-peer data channels under our own backpressure, BEP 9
// metadata, the core session, IndexedDB pieces), saves the file, and its
// SHA-256 must equal the original's. Also reports the measured throughput.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";

function generatedFile(name: string, sizeBytes: number, seed: number): { path: string; sha256: string } {
  const bytes = new Uint8Array(sizeBytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < sizeBytes; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-transfer-")), name);
  writeFileSync(path, bytes);
  return { path, sha256: createHash("sha256").update(bytes).digest("hex") };
}

const region = (page: Page, name: string) => page.getByRole("region", { name, exact: true });

test("a file shared in one browser context arrives byte-identical in another", async ({ browser }) => {
  test.setTimeout(180_000);
  const name = "transfer-test.bin";
  // TRANSFER_MIB sets the size for a throughput measurement (default 24 MiB).
  const sizeBytes = Number(process.env.TRANSFER_MIB ?? 24) * 1024 * 1024 + 12_345;
  const file = generatedFile(name, sizeBytes, 42);

  const seederContext = await browser.newContext();
  const leecherContext = await browser.newContext({ acceptDownloads: true });
  try {
    const seeder = await seederContext.newPage();
    await seeder.goto("/");
    const hashStartMs = Date.now();
    await seeder.getByLabel("Add files").setInputFiles(file.path);
    const shared = region(seeder, name);
    await expect.poll(() => shared.getAttribute("data-status", { timeout: 1000 }).catch(() => null), { timeout: 60_000, intervals: [25] }).toBe("seeding");
    const hashS = (Date.now() - hashStartMs) / 1000;
    const hashLine = `hashing (workers, until seeding): ${(sizeBytes / 1048576).toFixed(1)} MiB in ${hashS.toFixed(2)} s = ${(sizeBytes / 1e6 / hashS).toFixed(1)} MB/s`;
    test.info().annotations.push({ type: "hashing", description: hashLine });
    console.log(hashLine);
    const link = await shared.getByLabel("Share link").inputValue();
    expect(link).toMatch(/#magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=transfer-test\.bin&tr=ws%3A%2F%2F/);

    const leecher = await leecherContext.newPage();
    const startMs = Date.now();
    await leecher.goto(link);
    const joined = region(leecher, name);
    await expect(joined).toBeVisible({ timeout: 30_000 });
    await expect(joined).toHaveAttribute("data-status", "seeding", { timeout: 150_000 });
    const seconds = (Date.now() - startMs) / 1000;
    const mbPerS = sizeBytes / 1e6 / seconds;
    test.info().annotations.push({ type: "throughput", description: `${(sizeBytes / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s = ${mbPerS.toFixed(2)} MB/s (link opened to complete, incl. connect and metadata)` });
    console.log(`transfer: ${(sizeBytes / 1048576).toFixed(1)} MiB in ${seconds.toFixed(1)} s = ${mbPerS.toFixed(2)} MB/s`);
    await leecher.screenshot({ path: "test-results/screens/transfer-leecher-done.png", fullPage: true });

    const [download] = await Promise.all([leecher.waitForEvent("download"), joined.getByRole("button", { name: `Save ${name}`, exact: true }).click()]);
    const saved = readFileSync(await download.path());
    expect(saved.length).toBe(sizeBytes);
    expect(createHash("sha256").update(saved).digest("hex")).toBe(file.sha256);
  } finally {
    await seederContext.close();
    await leecherContext.close();
  }
});
