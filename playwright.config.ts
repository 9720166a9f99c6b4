import { defineConfig } from "@playwright/test";
import { chromiumArgs, findChromium } from "./e2e/chromium.ts";
import { freePort } from "./tracker/process-harness.ts";

// One free loopback port for the whole run, passed to workers via the environment.
const port = process.env.E2E_PORT ? Number(process.env.E2E_PORT) : await freePort();
process.env.E2E_PORT = String(port);
const executablePath = findChromium();

export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  timeout: 120_000,
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  reporter: process.env.CI ? [["list"]] : [["list"]],
  use: {
    baseURL: `http://localhost:${port}`,
    launchOptions: { args: chromiumArgs, ...(executablePath ? { executablePath } : {}) },
    screenshot: "only-on-failure",
  },
  webServer: {
    command: "tsx tracker/main.ts",
    url: `http://localhost:${port}/`,
    env: { PORT: String(port), HOST: "127.0.0.1" },
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
