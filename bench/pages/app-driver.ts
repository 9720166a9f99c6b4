// Injected into SwarmDrop's own pages (served by the tracker) so the harness can
// drive the real UI with files too big to pass through Playwright: the File is
// built in the page and handed to the "Add files" input as a drop would.
import type { AppDriverApi } from "./api.ts";
import { epochMs } from "./api.ts";
import { makePatternFile } from "./pattern.ts";

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

const api: AppDriverApi = {
  addPatternFile(input, init) {
    const file = makePatternFile(init.name, init.sizeBytes, init.seed);
    const transfer = new DataTransfer();
    transfer.items.add(file);
    const startEpochMs = epochMs();
    input.files = transfer.files;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return { startEpochMs };
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
