// Runs another benchmark script as a child process with --json and reads the
// JSON object on its last line (used for `bench:tracker`, bench/tracker.ts).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { NotAvailableError, repoRoot } from "./harness.ts";

export class ChildBenchError extends Error {
  override name = "ChildBenchError";
}

/** The last non-empty line of `output` parsed as a JSON object. */
export function lastJsonLine(output: string): Record<string, unknown> {
  const lines = output.split("\n").map((l) => l.trim()).filter(Boolean);
  const last = lines.at(-1);
  if (last === undefined) throw new ChildBenchError("no output");
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new ChildBenchError(`last line is not JSON: ${last.slice(0, 200)}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new ChildBenchError("last line is not a JSON object");
  return parsed as Record<string, unknown>;
}

export async function runTrackerBench(timeoutMs = 10 * 60_000): Promise<Record<string, unknown>> {
  const script = join(repoRoot, "bench", "tracker.ts");
  if (!existsSync(script)) throw new NotAvailableError("not available yet: bench/tracker.ts does not exist yet");
  const child = spawn(process.execPath, ["--import", "tsx", script, "--json"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(child.pid, "SIGTERM");
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
  clearTimeout(timer);
  if (code !== 0) throw new ChildBenchError(`bench/tracker.ts --json exited with ${String(code)}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`);
  return lastJsonLine(stdout);
}
