// Test and benchmark harness: a throwaway redis-server and tracker child
// processes on loopback, each stopped by its own pid. Not shipped code.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";

export class MissingRedisError extends Error {
  override name = "MissingRedisError";
}

const root = resolve(import.meta.dirname, "..");

/** True when redis-server is on PATH; under CI=true its absence is an error. */
export function haveRedisServer(): boolean {
  const ok = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
  if (!ok && process.env.CI) throw new MissingRedisError("redis-server is not installed (apt-get install redis-server): the Redis scale-out tests need it");
  return ok;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface Child {
  process: ChildProcess;
  output: string[];
  stop(): Promise<void>;
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
    const force = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, "SIGKILL");
    }, 3000);
    child.once("exit", () => {
      clearTimeout(force);
      done();
    });
    process.kill(child.pid, "SIGTERM");
  });
}

function waitForLine(child: ChildProcess, output: string[], pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolveMatch, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output.join("")}`)), timeoutMs);
    const check = (): void => {
      const m = output.join("").match(pattern);
      if (m) {
        clearTimeout(timer);
        resolveMatch(m);
      }
    };
    const onData = (chunk: Buffer): void => {
      output.push(chunk.toString("utf8"));
      check();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited with ${code} before printing ${pattern}; output:\n${output.join("")}`));
    });
  });
}

/** `redis-server --port N --bind 127.0.0.1 --save '' --appendonly no`, ready to serve. */
export async function startRedis(): Promise<Child & { url: string }> {
  const port = await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  await waitForLine(child, output, /Ready to accept connections/, 10_000);
  return { process: child, output, url: `redis://127.0.0.1:${port}`, stop: () => stopChild(child) };
}

/** Any Node script in its own process (through tsx), ready once it prints a line matching `ready`. */
export async function startNodeScript(script: string, args: string[], ready: RegExp, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child & { match: RegExpMatchArray }> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", resolve(root, script), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const match = await waitForLine(child, output, ready, 20_000);
  return { process: child, output, match, stop: () => stopChild(child) };
}

/** A tracker in its own process (`node --import tsx tracker/main.ts`), on a free port. */
export async function startTrackerProcess(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Child & { port: number }> {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", resolve(root, "tracker/main.ts"), "--port", "0", "--host", "127.0.0.1", "--dist-dir", "", ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const m = await waitForLine(child, output, /SwarmDrop tracker listening on http:\/\/localhost:(\d+)/, 20_000);
  return { process: child, output, port: Number(m[1]), stop: () => stopChild(child) };
}
