// Shared steps for the browser specs: make test files on disk, share them from
// one page, open the link in others, wait on what the UI shows, and save files
// through their "Save <file name>" buttons to compare SHA-256 with the originals.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect, type Locator, type Page } from "@playwright/test";

export interface TestFile {
  /** Path below the shared folder, "/"-joined. */
  readonly path: string;
  readonly sizeBytes: number;
}

export interface MadeFolder {
  /** Absolute path of the shared folder (its name is the torrent's name). */
  readonly dir: string;
  readonly name: string;
  readonly sha256: ReadonlyMap<string, string>;
  readonly totalBytes: number;
}

/** Deterministic bytes (xorshift32 from a seed) so a failure replays with the same data. */
function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function makeFolder(name: string, files: readonly TestFile[], seed = 1): MadeFolder {
  const root = mkdtempSync(join(tmpdir(), "swarmdrop-e2e-"));
  const dir = join(root, name);
  const hashes = new Map<string, string>();
  let total = 0;
  files.forEach((f, i) => {
    const bytes = seededBytes(f.sizeBytes, seed * 7919 + i + 1);
    const target = join(dir, ...f.path.split("/"));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, bytes);
    hashes.set(f.path, sha256(bytes));
    total += f.sizeBytes;
  });
  return { dir, name, sha256: hashes, totalBytes: total };
}

/** The transfer's region, named after the torrent. */
export function transfer(page: Page, name: string): Locator {
  return page.getByRole("region", { name, exact: true });
}

/** Shares a folder through the "Add folder" picker; resolves with the share link once hashing is done. */
export async function shareFolder(page: Page, folder: MadeFolder): Promise<string> {
  await page.getByLabel("Add folder").setInputFiles(folder.dir);
  const region = transfer(page, folder.name);
  const link = region.getByLabel("Share link");
  await expect(link).toBeVisible({ timeout: 60_000 });
  const value = await link.inputValue();
  expect(value).toContain("#magnet:?xt=urn:btih:");
  return value;
}

export async function progressOf(page: Page, name: string): Promise<number> {
  const value = await transfer(page, name).getByRole("progressbar", { name: `${name} progress`, exact: true }).getAttribute("aria-valuenow");
  return Number(value);
}

export async function waitForProgress(page: Page, name: string, atLeast: number, timeoutMs = 90_000): Promise<void> {
  await expect
    .poll(() => progressOf(page, name).catch(() => -1), { timeout: timeoutMs, intervals: [100, 250, 500] })
    .toBeGreaterThanOrEqual(atLeast);
}

export async function waitForStatus(page: Page, name: string, status: string, timeoutMs = 90_000): Promise<void> {
  await expect(transfer(page, name)).toHaveAttribute("data-status", status, { timeout: timeoutMs });
}

/** The shown file path: the torrent's own folder is left out, as the file list shows it. */
export async function savedSha256(page: Page, name: string, shownPath: string): Promise<string> {
  const button = transfer(page, name).getByRole("button", { name: `Save ${shownPath}`, exact: true });
  const [download] = await Promise.all([page.waitForEvent("download"), button.click()]);
  const path = await download.path();
  return sha256(readFileSync(path));
}

export async function expectAllSavedIdentical(page: Page, folder: MadeFolder): Promise<void> {
  for (const [path, expected] of folder.sha256) {
    expect(await savedSha256(page, folder.name, path), `${path} saved byte-identical`).toBe(expected);
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

/**
 * The entries of a zip (as client-zip writes it: stored, not deflated; Zip64
 * fields when needed), read from its central directory. Throws on anything else,
 * so a broken archive fails the test rather than being skipped.
 */
export function readStoredZip(zip: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65_535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error("no end of central directory: not a zip");
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || count === 0xffff) {
    const locator = eocd - 20;
    if (view.getUint32(locator, true) !== 0x07064b50) throw new Error("Zip64 locator missing");
    const z64 = Number(view.getBigUint64(locator + 8, true));
    if (view.getUint32(z64, true) !== 0x06064b50) throw new Error("Zip64 end record missing");
    count = Number(view.getBigUint64(z64 + 32, true));
    cdOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const out = new Map<string, Uint8Array>();
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error(`bad central directory entry ${n}`);
    const method = view.getUint16(p + 10, true);
    let size = view.getUint32(p + 20, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localOffset = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLength));
    // Zip64 extra field (id 1): the 0xffffffff values, in order uncompressed, compressed, offset.
    for (let e = p + 46 + nameLength; e < p + 46 + nameLength + extraLength; ) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        if (view.getUint32(p + 24, true) === 0xffffffff) q += 8;
        if (size === 0xffffffff) {
          size = Number(view.getBigUint64(q, true));
          q += 8;
        }
        if (localOffset === 0xffffffff) localOffset = Number(view.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    if (method !== 0) throw new Error(`${name}: compression method ${method}, expected stored`);
    if (view.getUint32(localOffset, true) !== 0x04034b50) throw new Error(`${name}: bad local header`);
    const dataStart = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (!name.endsWith("/")) out.set(name, zip.subarray(dataStart, dataStart + size));
    p += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}
