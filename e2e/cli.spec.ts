// The headless peer against the web app, through the real tracker: the
// `swarmdrop` command runs as its own process (started and stopped by pid).
//   - `swarmdrop seed <folder>` prints a share link; a browser opens it and
//     saves every file byte-identical;
//   - a browser shares a folder; `swarmdrop get <its link>` writes every file
//     byte-identical and exits 0.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { expectAllSavedIdentical, makeFolder, sha256, shareFolder, waitForStatus } from "./helpers.ts";

const bin = join(process.cwd(), "cli", "swarmdrop.mjs");

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

function run(args: readonly string[]): Running {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const r: Running = {
    child,
    stdout: "",
    stderr: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve(code ?? (signal === null ? null : 128)))),
  };
  child.stdout!.on("data", (d: Buffer) => (r.stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (r.stderr += d.toString()));
  return r;
}

/** Ctrl-C by pid; the command must stop on its own and exit 130. */
async function interrupt(r: Running): Promise<number | null> {
  if (r.child.exitCode === null && r.child.pid !== undefined) process.kill(r.child.pid, "SIGINT");
  const timer = setTimeout(() => {
    if (r.child.exitCode === null && r.child.pid !== undefined) process.kill(r.child.pid, "SIGKILL");
  }, 10_000);
  const code = await r.exited;
  clearTimeout(timer);
  return code;
}

test("a browser downloads a folder that `swarmdrop seed` shares", async ({ page, baseURL }) => {
  const folder = makeFolder("from-cli", [
    { path: "big.bin", sizeBytes: 3_000_000 + 17 },
    { path: "empty.txt", sizeBytes: 0 },
    { path: "docs/readme.txt", sizeBytes: 2_345 },
  ]);
  const state = mkdtempSync(join(tmpdir(), "swarmdrop-cli-state-"));
  const seeder = run(["seed", folder.dir, "--tracker", `${baseURL!.replace(/^http/, "ws")}/announce`, "--no-qr", "--state-dir", state]);
  try {
    await expect.poll(() => seeder.stdout, { timeout: 30_000 }).toContain("#magnet:?xt=urn:btih:");
    const link = seeder.stdout.split("\n").map((l) => l.trim()).find((l) => l.startsWith("http"))!;
    expect(link.startsWith(`${baseURL}/#magnet:`), link).toBe(true);
    await page.goto(link);
    await waitForStatus(page, folder.name, "seeding", 90_000);
    await expectAllSavedIdentical(page, folder);
  } finally {
    const code = await interrupt(seeder);
    rmSync(state, { recursive: true, force: true });
    expect(code, seeder.stderr).toBe(130);
  }
  expect(seeder.stderr).toMatch(/peer joined/);
});

test("`swarmdrop get` downloads a folder a browser shares", async ({ page }) => {
  const folder = makeFolder("from-browser", [
    { path: "a.bin", sizeBytes: 2_000_000 + 3 },
    { path: "sub/b.txt", sizeBytes: 999 },
  ], 5);
  await page.goto("/");
  const link = await shareFolder(page, folder);
  await waitForStatus(page, folder.name, "seeding");
  const out = mkdtempSync(join(tmpdir(), "swarmdrop-cli-out-"));
  const getter = run(["get", link, "--out", out, "--state-dir", join(out, ".state")]);
  const timer = setTimeout(() => void interrupt(getter), 90_000);
  const code = await getter.exited;
  clearTimeout(timer);
  expect(code, getter.stderr).toBe(0);
  expect(getter.stderr).toMatch(/download complete/);
  try {
    for (const [path, expected] of folder.sha256) {
      expect(sha256(readFileSync(join(out, folder.name, ...path.split("/")))), `${path} byte-identical`).toBe(expected);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
