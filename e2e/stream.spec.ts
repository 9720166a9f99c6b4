// Playing while downloading, in real Chromium against the real tracker: the
// sharer caps its upload so the download takes about a minute; the friend opens
// the share link and presses Play; the <audio> element plays (through our
// Service Worker's /stream/ URL, fed by the friend's page from verified pieces)
// well before the transfer is complete, and goes on after a seek into bytes not
// downloaded yet. Then the cap is lifted, the download finishes, the saved file
// is byte-identical, and the /stream/ URL answers Range requests (206, 416, 200)
// with the right bytes. A second test blocks Service Workers: the page says the
// file plays once downloaded, and plays it then.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { progressOf, savedSha256, sha256, transfer, waitForStatus } from "./helpers.ts";

const sampleRate = 22_050;

/** A mono 16-bit PCM WAV: the 44-byte RIFF header, then a 440 Hz sine wave. */
function sineWav(samples: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) bytes[at + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) view.setInt16(44 + i * 2, Math.round(12_000 * Math.sin((2 * Math.PI * 440 * i) / sampleRate)), true);
  return bytes;
}

async function setUploadLimit(page: Page, kib: string): Promise<void> {
  const field = page.getByLabel("Upload limit (KiB/s)", { exact: true });
  await field.fill(kib);
  await field.press("Enter");
}

test("audio plays while it downloads, and the finished file is byte-identical", async ({ browser }) => {
  test.setTimeout(240_000);
  const name = "tone.wav";
  // 16 MiB of sound (about 6 minutes at 44 KB/s); at 256 KiB/s the download takes about a minute.
  const wav = sineWav(8 * 1024 * 1024);
  const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-stream-")), name);
  writeFileSync(path, wav);

  const sharerContext = await browser.newContext();
  const friendContext = await browser.newContext({ acceptDownloads: true });
  try {
    const sharer = await sharerContext.newPage();
    await sharer.goto("/");
    await setUploadLimit(sharer, "256");
    await sharer.getByLabel("Add files").setInputFiles(path);
    const link = transfer(sharer, name).getByLabel("Share link");
    await expect(link).toBeVisible({ timeout: 60_000 });
    const shareLink = await link.inputValue();

    const friend = await friendContext.newPage();
    await friend.goto(shareLink);
    const play = transfer(friend, name).getByRole("button", { name: `Play ${name}`, exact: true });
    await expect(play).toBeVisible({ timeout: 60_000 });
    await play.click();

    const audio = transfer(friend, name).getByLabel(`Playing ${name}`);
    await expect(audio).toBeVisible();
    // Playing: the position passes one second while the transfer is still well short of complete.
    await expect
      .poll(() => audio.evaluate((el) => (el as HTMLAudioElement).currentTime), { timeout: 60_000, intervals: [250] })
      .toBeGreaterThan(1);
    expect(await audio.evaluate((el) => (el as HTMLAudioElement).error?.code ?? null)).toBeNull();
    const progress = await progressOf(friend, name);
    expect(progress, "the transfer is still downloading while the audio plays").toBeLessThan(100);
    await friend.screenshot({ path: "test-results/screens/stream-playing.png", fullPage: true });

    // Seeking ahead, into bytes not downloaded yet: the playhead follows and playback goes on from there.
    await audio.evaluate((el) => {
      const media = el as HTMLAudioElement;
      media.currentTime = media.duration * 0.6;
    });
    await expect
      .poll(() => audio.evaluate((el) => (el as HTMLAudioElement).currentTime), { timeout: 90_000, intervals: [250] })
      .toBeGreaterThan(((wav.length - 44) / 2 / sampleRate) * 0.6 + 1);

    // Closing the player ends its request; the download goes on.
    await transfer(friend, name).getByRole("button", { name: `Close player ${name}`, exact: true }).click();
    await expect(audio).toHaveCount(0);
    await expect(play).toBeVisible();

    await setUploadLimit(sharer, "");
    await waitForStatus(friend, name, "seeding", 120_000);
    expect(await savedSha256(friend, name, name)).toBe(sha256(wav));

    // The /stream/ URL speaks HTTP ranges as a player expects (answered by the Service Worker in the friend's page).
    await play.click();
    const url = (await audio.getAttribute("src")) ?? "";
    expect(url).toMatch(/^\/stream\/[0-9a-f]{40}\/0\/tone\.wav$/);
    const answers = await friend.evaluate(async (u) => {
      const hex = async (b: ArrayBuffer) => [...new Uint8Array(await crypto.subtle.digest("SHA-256", b))].map((x) => x.toString(16).padStart(2, "0")).join("");
      const head = await fetch(u, { headers: { Range: "bytes=0-43" } });
      const tail = await fetch(u, { headers: { Range: "bytes=-4" } });
      const beyond = await fetch(u, { headers: { Range: "bytes=999999999-" } });
      const whole = await fetch(u);
      return {
        head: { status: head.status, range: head.headers.get("content-range"), type: head.headers.get("content-type"), accept: head.headers.get("accept-ranges"), bytes: [...new Uint8Array(await head.arrayBuffer())] },
        tail: { status: tail.status, bytes: [...new Uint8Array(await tail.arrayBuffer())] },
        beyond: { status: beyond.status, range: beyond.headers.get("content-range") },
        whole: { status: whole.status, length: whole.headers.get("content-length"), sha256: await hex(await whole.arrayBuffer()) },
      };
    }, url);
    expect(answers.head).toEqual({ status: 206, range: `bytes 0-43/${wav.length}`, type: "audio/wav", accept: "bytes", bytes: [...wav.slice(0, 44)] });
    expect(answers.tail).toEqual({ status: 206, bytes: [...wav.slice(-4)] });
    expect(answers.beyond).toEqual({ status: 416, range: `bytes */${wav.length}` });
    expect(answers.whole).toEqual({ status: 200, length: String(wav.length), sha256: sha256(wav) });
  } finally {
    await sharerContext.close();
    await friendContext.close();
  }
});

test("where Service Workers are blocked, the page says a file plays once downloaded, and plays it then", async ({ browser }) => {
  test.setTimeout(120_000);
  const name = "short.wav";
  const wav = sineWav(600_000);
  const path = join(mkdtempSync(join(tmpdir(), "swarmdrop-stream-")), name);
  writeFileSync(path, wav);
  const sharerContext = await browser.newContext();
  const friendContext = await browser.newContext({ serviceWorkers: "block" });
  try {
    const sharer = await sharerContext.newPage();
    await sharer.goto("/");
    // 1.2 MB at 64 KiB/s: the note is there to read while it downloads.
    await setUploadLimit(sharer, "64");
    await sharer.getByLabel("Add files").setInputFiles(path);
    const link = transfer(sharer, name).getByLabel("Share link");
    await expect(link).toBeVisible({ timeout: 60_000 });

    const friend = await friendContext.newPage();
    await friend.goto(await link.inputValue());
    const region = transfer(friend, name);
    await expect(region.getByText(/Plays once downloaded: playing while downloading is unavailable because/)).toBeVisible({ timeout: 60_000 });
    await region.getByRole("button", { name: `Play ${name}`, exact: true }).click();
    const audio = region.getByLabel(`Playing ${name}`);
    await expect(audio).toBeVisible({ timeout: 90_000 });
    expect(await progressOf(friend, name)).toBe(100);
    expect(await audio.getAttribute("src")).toMatch(/^blob:/);
    await expect
      .poll(() => audio.evaluate((el) => (el as HTMLAudioElement).currentTime), { timeout: 30_000, intervals: [250] })
      .toBeGreaterThan(1);
  } finally {
    await sharerContext.close();
    await friendContext.close();
  }
});
