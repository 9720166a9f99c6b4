// The page itself: it renders (desktop, phone, dark), a bad or truncated link
// says what is wrong, and the keyboard reaches the pickers and the drop zone.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { makeFolder, screenshot, sha256, transfer } from "./helpers.ts";

const fixturesDir = join(process.cwd(), "node_modules", "webtorrent-fixtures", "fixtures");
const fixture = (name: string) => join(fixturesDir, name);

test("the page renders with its pickers, drop zone and link field", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "SwarmDrop" })).toBeVisible();
  await expect(page.getByLabel("Add files")).toBeAttached();
  await expect(page.getByLabel("Add folder")).toHaveAttribute("webkitdirectory", "");
  await expect(page.getByRole("button", { name: /Drop files or a folder/ })).toBeVisible();
  await expect(page.getByText(/SwarmDrop stores/)).toBeVisible();
  await screenshot(page, "app-desktop-light");
  await page.emulateMedia({ colorScheme: "dark" });
  await screenshot(page, "app-desktop-dark");
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, "app-phone-dark");
});

test("an invalid link fragment shows what is wrong", async ({ page }) => {
  await page.goto("/#magnet:?xt=urn:btih:nothex&dn=broken");
  const alert = page.getByRole("alert").filter({ hasText: "This share link cannot be opened" });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/btih|infohash|hash/i);
  await screenshot(page, "app-invalid-link");
});

test("a truncated link says so, and a corrected link pasted in the field opens", async ({ page }) => {
  await page.goto("/#magnet:?xt=urn:btih:0123456789abcdef");
  const alert = page.getByRole("alert").filter({ hasText: "This share link cannot be opened" });
  await expect(alert).toBeVisible();
  await expect(alert).toContainText(/40|32|characters|long|short/i);
  await alert.getByRole("button", { name: /Dismiss/ }).click();
  await expect(alert).toBeHidden();

  await page.getByLabel("Open a share link").fill(`#magnet:?xt=urn:btih:${"0123456789abcdef0123".repeat(2)}&dn=typed`);
  await page.getByRole("button", { name: "Open", exact: true }).click();
  await expect(page.getByRole("region", { name: "typed" })).toBeVisible();
});

test("a bare 40-hex infohash fragment opens a transfer that waits for peers", async ({ page }) => {
  await page.goto(`/#${"c0ffee".repeat(6)}abcd`);
  // Until peers send the metadata, the manager names it after the infohash.
  const region = page.getByRole("region", { name: /c0ffeec0/i });
  await expect(region).toBeVisible();
  await expect(region.getByRole("progressbar", { name: / progress$/ })).toHaveAttribute("aria-valuenow", "0");
  await expect(region.getByRole("img", { name: /^Piece map: waiting/ })).toBeVisible();
  await expect(region.getByText("Waiting for peers — keep this page open on the sharing device")).toBeVisible();
});

test("keyboard focus reaches Add files, and the drop zone opens the file picker", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "SwarmDrop" })).toBeVisible();
  let reached = false;
  for (let i = 0; i < 12 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.getByLabel("Add files").evaluate((el) => el === document.activeElement);
  }
  expect(reached, "Tab reaches the Add files input").toBe(true);

  const zone = page.getByRole("button", { name: /Drop files or a folder/ });
  await zone.focus();
  await expect(zone).toBeFocused();
  const outline = await zone.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe("none");
  await screenshot(page, "app-keyboard-focus");
  // Enter and Space on the zone open the "Add files" picker (a click on its input,
  // which with the key press's user activation shows the browser's file chooser).
  await page.getByLabel("Add files").evaluate((input) => {
    input.addEventListener("click", (e) => {
      e.preventDefault();
      input.dataset.opened = String(Number(input.dataset.opened ?? "0") + 1);
    });
  });
  await page.keyboard.press("Enter");
  await expect(page.getByLabel("Add files")).toHaveAttribute("data-opened", "1");
  await page.keyboard.press(" ");
  await expect(page.getByLabel("Add files")).toHaveAttribute("data-opened", "2");
  await expect(page.getByLabel("Add files")).toHaveAttribute("multiple", "");
});

test("sharing a file shows its link, copies it, shows a QR code; removing asks first", async ({ browser }) => {
  const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
  try {
    const page = await context.newPage();
    await page.goto("/");
    const folder = makeFolder("single", [{ path: "report.pdf", sizeBytes: 200_001 }], 3);
    await page.getByLabel("Add files").setInputFiles(join(folder.dir, "report.pdf"));
    const region = transfer(page, "report.pdf");
    const link = region.getByLabel("Share link");
    await expect(link).toHaveValue(/#magnet:\?xt=urn:btih:[0-9a-f]{40}&dn=report\.pdf/, { timeout: 30_000 });
    await expect(region.getByRole("img", { name: "QR code of the share link" })).toBeVisible();
    await region.getByRole("button", { name: "Copy link" }).click();
    await expect(region.getByText("Link copied.")).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(await link.inputValue());
    await expect(region.getByRole("progressbar", { name: "report.pdf progress" })).toHaveAttribute("aria-valuenow", "100");
    await screenshot(page, "app-shared-file");

    await region.getByRole("button", { name: "Remove…" }).click();
    const confirm = region.getByRole("alertdialog", { name: "Remove report.pdf?" });
    await expect(confirm).toContainText("stored data");
    await confirm.getByRole("button", { name: "Keep" }).click();
    await expect(region).toBeVisible();
    await region.getByRole("button", { name: "Remove…" }).click();
    await confirm.getByRole("button", { name: "Remove", exact: true }).click();
    await expect(region).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole("heading", { name: "SwarmDrop" })).toBeVisible();
    await expect(transfer(page, "report.pdf")).toHaveCount(0);
  } finally {
    await context.close();
  }
});

test("hashing a large share can be cancelled", async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), "swarmdrop-big-"));
  const big = join(dir, "huge.iso");
  // A sparse 2 GB file: no disk used, but hashing it takes a while.
  writeFileSync(big, "");
  truncateSync(big, 2 * 1024 * 1024 * 1024);
  try {
    await page.goto("/");
    await page.getByLabel("Add files").setInputFiles(big);
    const region = transfer(page, "huge.iso");
    await expect(region.getByRole("progressbar", { name: "Hashing huge.iso" })).toBeVisible();
    await screenshot(page, "app-hashing");
    await region.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByRole("status").filter({ hasText: "Sharing cancelled" })).toBeVisible();
    await expect(region).toHaveCount(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a .torrent file opens with its file list and sizes", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("Open .torrent").setInputFiles(fixture("folder.torrent"));
  const region = transfer(page, "folder");
  await expect(region).toBeVisible();
  await expect(region.getByText("file.txt", { exact: true })).toBeVisible();
  await expect(region.getByText(/^15 B/)).toBeVisible();
  await expect(region.getByText("Waiting for peers — keep this page open on the sharing device")).toBeVisible();
});

test("files dropped on the drop zone are shared", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("button", { name: /Drop files or a folder/ }).evaluate((zone) => {
    const data = new DataTransfer();
    data.items.add(new File(["hello swarm\n"], "a.txt", { type: "text/plain" }));
    data.items.add(new File([new Uint8Array(70_000)], "b.bin"));
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  const region = transfer(page, "2 files");
  await expect(region.getByLabel("Share link")).toHaveValue(/btih/, { timeout: 30_000 });
  // A drop with no file in it (dragged text) is answered, not silently ignored.
  await page.getByRole("button", { name: /Drop files or a folder/ }).evaluate((zone) => {
    const data = new DataTransfer();
    data.setData("text/plain", "not a file");
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  await expect(page.getByText("Nothing to share", { exact: true })).toBeVisible();
  await expect(region.getByRole("button", { name: "Save a.txt" })).toBeVisible();
  await expect(region.getByRole("button", { name: "Save b.bin" })).toBeVisible();
});

/** A mono 8 kHz 16-bit WAV of a 440 Hz tone: a real file the browser can play. */
function toneWav(seconds: number): Buffer {
  const rate = 8000;
  const samples = rate * seconds;
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write("RIFF", 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write("WAVEfmt ", 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write("data", 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 2);
  return wav;
}

test("a friend opening the link can play a shared audio file", async ({ browser }) => {
  const dir = mkdtempSync(join(tmpdir(), "swarmdrop-audio-"));
  const path = join(dir, "tone.wav");
  writeFileSync(path, toneWav(3));
  const seedContext = await browser.newContext();
  const friendContext = await browser.newContext();
  try {
    const seed = await seedContext.newPage();
    await seed.goto("/");
    await seed.getByLabel("Add files").setInputFiles(path);
    const link = await transfer(seed, "tone.wav").getByLabel("Share link").inputValue({ timeout: 30_000 });

    const friend = await friendContext.newPage();
    await friend.goto(link);
    const region = transfer(friend, "tone.wav");
    await expect(region.locator(".file-row").getByText("48.0 kB", { exact: true })).toBeVisible({ timeout: 30_000 });
    await region.getByRole("button", { name: "Play tone.wav" }).click();
    const player = region.getByLabel("Playing tone.wav");
    await expect(player).toBeVisible({ timeout: 30_000 });
    await expect.poll(() => player.evaluate((el) => (el as HTMLAudioElement).duration), { timeout: 10_000 }).toBeCloseTo(3, 1);
  } finally {
    await friendContext.close().catch(() => {});
    await seedContext.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a shared file keeps seeding after a reload, from browser storage", async ({ page }) => {
  const folder = makeFolder("keep", [{ path: "kept.bin", sizeBytes: 500_003 }], 5);
  await page.goto("/");
  await page.getByLabel("Add files").setInputFiles(join(folder.dir, "kept.bin"));
  const region = transfer(page, "kept.bin");
  await expect(region.getByLabel("Share link")).toBeVisible({ timeout: 30_000 });
  // The manager copies the dropped file into IndexedDB in the background.
  await expect(region.locator(".stat", { hasText: "Stored" }).locator("dd")).toHaveText("500 kB", { timeout: 30_000 });
  await page.reload();
  await expect(region).toHaveAttribute("data-status", "seeding", { timeout: 30_000 });
  const [download] = await Promise.all([page.waitForEvent("download"), region.getByRole("button", { name: "Save kept.bin", exact: true }).click()]);
  expect(sha256(readFileSync(await download.path()))).toBe(folder.sha256.get("kept.bin"));
});
