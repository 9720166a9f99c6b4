// Injected into SwarmDrop's own pages (served by the tracker) so the harness can
// time the real UI from inside the page: when the share link appears, when a
// transfer's progressbar first moves and reaches 100.
import type { AppDriverApi, ShareLinkShown } from "./api.ts";
import { epochMs } from "./api.ts";

export class AppDriverTimeoutError extends Error {
  override name = "AppDriverTimeoutError";
}

function poll<T>(read: () => T | null, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const deadline = performance.now() + timeoutMs;
    const tick = (): void => {
      let value: T | null;
      try {
        value = read();
      } catch (err) {
        return reject(err instanceof Error ? err : new AppDriverTimeoutError(String(err)));
      }
      if (value !== null) return resolve(value);
      if (performance.now() > deadline) return reject(new AppDriverTimeoutError(`${what} within ${timeoutMs} ms`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** The value of the "Share link" field inside the region (a section) named `regionName`, or null. */
function shareLinkIn(regionName: string): string | null {
  for (const region of document.querySelectorAll("section[aria-label]")) {
    if (region.getAttribute("aria-label") !== regionName) continue;
    for (const input of region.querySelectorAll("input")) {
      const labelled = [...(input.labels ?? [])].some((l) => l.textContent?.trim() === "Share link");
      if (labelled && input.value !== "") return input.value;
    }
  }
  return null;
}

let armed: Promise<ShareLinkShown> | null = null;

function appMarks(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of performance.getEntriesByType("mark")) if (m.name.startsWith("swarmdrop:")) out[m.name] = performance.timeOrigin + m.startTime;
  return out;
}

/**
 * Watches from inside the page, so the time is when the page showed the link
 * (checked on every DOM mutation and every animation frame), not when a
 * Playwright locator next polled.
 */
function armShareLink(init: { regionName: string; timeoutMs: number }): void {
  let startEpochMs: number | null = null;
  const onChange = (event: Event): void => {
    if (startEpochMs === null && event.target instanceof HTMLInputElement && event.target.type === "file") startEpochMs = epochMs();
  };
  // Capture phase on the window: runs before any listener of the app.
  window.addEventListener("change", onChange, true);
  armed = new Promise<ShareLinkShown>((resolve, reject) => {
    let frame = 0;
    const stop = (): void => {
      observer.disconnect();
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      window.removeEventListener("change", onChange, true);
    };
    const check = (): void => {
      const value = shareLinkIn(init.regionName);
      if (value === null) return;
      const at = epochMs();
      stop();
      if (startEpochMs === null) reject(new AppDriverTimeoutError("the share link appeared, but the page never saw the file input change"));
      else resolve({ startEpochMs, epochMs: at, value, marks: appMarks() });
    };
    const observer = new MutationObserver(check);
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
    const onFrame = (): void => {
      check();
      frame = requestAnimationFrame(onFrame);
    };
    frame = requestAnimationFrame(onFrame);
    const timer = setTimeout(() => {
      stop();
      reject(new AppDriverTimeoutError(`no share link in the region "${init.regionName}" within ${init.timeoutMs} ms`));
    }, init.timeoutMs);
  });
  // Not awaited until shareLinkShown(): keep an early failure from being reported as unhandled.
  armed.catch(() => undefined);
}

const api: AppDriverApi = {
  armShareLink,
  shareLinkShown() {
    return armed ?? Promise.reject(new AppDriverTimeoutError("armShareLink was not called"));
  },
  waitForValue(field, init) {
    return poll(() => (field.value ? { epochMs: epochMs(), value: field.value } : null), init.timeoutMs, "no value in the field");
  },
  waitForComplete(progressbar, init) {
    let firstProgressEpochMs: number | null = null;
    let last = Number.NaN;
    let lastChangeMs = performance.now();
    return poll(
      () => {
        const now = Number(progressbar.getAttribute("aria-valuenow"));
        if (firstProgressEpochMs === null && now > 0) firstProgressEpochMs = epochMs();
        if (now !== last) {
          last = now;
          lastChangeMs = performance.now();
        } else if (performance.now() - lastChangeMs > init.stallMs) {
          throw new AppDriverTimeoutError(`the progressbar stalled at ${now} % for ${init.stallMs / 1000} s`);
        }
        return now >= 100 ? { epochMs: epochMs(), firstProgressEpochMs } : null;
      },
      init.timeoutMs,
      "the progressbar did not reach 100",
    );
  },
  epochMs,
};
window.swarmBenchApp = api;
