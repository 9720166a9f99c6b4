// Finds a Chromium for Playwright: Playwright's own build if installed, else
// CHROMIUM_PATH, else Debian's /usr/bin/chromium; otherwise explains what to do.
import { existsSync } from "node:fs";
import { chromium } from "@playwright/test";

export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-features=WebRtcHideLocalIpsWithMdns",
  // Players start on their own (the stream spec checks that audio plays while downloading).
  "--autoplay-policy=no-user-gesture-required",
];

export class NoChromiumError extends Error {
  override name = "NoChromiumError";
}

/** Returns an executable path, or undefined to use Playwright's own installed build. */
export function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new NoChromiumError(`CHROMIUM_PATH is set to ${fromEnv}, but no file is there.`);
    return fromEnv;
  }
  try {
    const own = chromium.executablePath();
    if (own && existsSync(own)) return undefined;
  } catch {
    // Playwright's own browser is not installed; fall through.
  }
  for (const candidate of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new NoChromiumError(
    [
      "No Chromium found for the end-to-end tests. Any one of these fixes it:",
      "  - npx playwright install chromium        (Playwright's own build)",
      "  - sudo apt-get install -y chromium       (Debian/Ubuntu; found at /usr/bin/chromium)",
      "  - CHROMIUM_PATH=/path/to/chrome npm test (any Chromium or Chrome you have)",
    ].join("\n"),
  );
}
