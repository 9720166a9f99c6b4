// Injected into SwarmDrop's own pages (served by the tracker) so the harness can
// time the real UI from inside the page: when the share link appears, when a
// transfer's progressbar first moves and reaches 100.
import type { AppDriverApi } from "./api.ts";
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

const api: AppDriverApi = {
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
