// Entry point: `tsx tracker/main.ts [flags]` (npm start / npm run serve, and
// Playwright's webServer with PORT and HOST=127.0.0.1). See --help.
import { ConfigError, loadConfig } from "./config.ts";
import { startTracker } from "./server.ts";

async function main(): Promise<void> {
  let result;
  try {
    result = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`swarmdrop tracker: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  if (result.kind === "help") {
    console.log(result.text);
    return;
  }
  const config = result.config;
  const tracker = await startTracker(config);
  console.log(`SwarmDrop tracker listening on http://localhost:${tracker.port}`);
  if (config.redisUrl) console.log(`sharing swarms through Redis as process ${tracker.processId}`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    if (!config.quiet) console.log(`${signal}: closing the tracker`);
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    tracker.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`error while closing: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // A bug reached by one client's message must not take every other client down with it.
  process.on("uncaughtException", (err) => console.error(`uncaught exception (tracker keeps running): ${err.stack ?? String(err)}`));
  process.on("unhandledRejection", (err) => console.error(`unhandled rejection (tracker keeps running): ${String(err)}`));
}

main().catch((err: unknown) => {
  console.error(`swarmdrop tracker failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
