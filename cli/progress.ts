// A terminal progress bar: redrawn in place on a TTY (at most every
// redrawIntervalMs), a line per 10% otherwise (logs, pipes, CI).

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export type ProgressUnit = "bytes" | "pieces";

/** "hashing [#########-----------]  45%  1.20 GiB of 2.67 GiB  80.0 MiB/s" (or "12 of 40 pieces"). */
export function progressLine(label: string, done: number, total: number, perS: number | null, unit: ProgressUnit = "bytes", barCols = 24): string {
  const fraction = total === 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(fraction * barCols);
  const amount = unit === "bytes" ? `${formatBytes(done)} of ${formatBytes(total)}` : `${done} of ${total} pieces`;
  const rate = perS === null || unit !== "bytes" ? "" : `  ${formatBytes(Math.round(perS))}/s`;
  return `${label} [${"#".repeat(filled)}${"-".repeat(barCols - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${amount}${rate}`;
}

export interface ProgressStream {
  readonly isTTY?: boolean;
  write(text: string): unknown;
}

export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #label: string;
  readonly #nowMs: () => number;
  readonly #redrawIntervalMs: number;
  readonly #unit: ProgressUnit;
  readonly #startMs: number;
  #lastDrawMs = -Infinity;
  #lastDecile = -1;
  #drawn = false;

  constructor(stream: ProgressStream, label: string, options: { nowMs?: () => number; redrawIntervalMs?: number; unit?: ProgressUnit } = {}) {
    this.#unit = options.unit ?? "bytes";
    this.#stream = stream;
    this.#label = label;
    this.#nowMs = options.nowMs ?? (() => performance.now());
    this.#redrawIntervalMs = options.redrawIntervalMs ?? 100;
    this.#startMs = this.#nowMs();
  }

  update(doneBytes: number, totalBytes: number): void {
    const now = this.#nowMs();
    const elapsedS = (now - this.#startMs) / 1000;
    const rate = elapsedS > 0.2 ? doneBytes / elapsedS : null;
    if (this.#stream.isTTY === true) {
      if (now - this.#lastDrawMs < this.#redrawIntervalMs && doneBytes < totalBytes) return;
      this.#lastDrawMs = now;
      this.#stream.write(`\r${progressLine(this.#label, doneBytes, totalBytes, rate, this.#unit)}\x1b[K`);
      this.#drawn = true;
    } else {
      const decile = totalBytes === 0 ? 10 : Math.floor((doneBytes / totalBytes) * 10);
      if (decile <= this.#lastDecile) return;
      this.#lastDecile = decile;
      this.#stream.write(`${progressLine(this.#label, doneBytes, totalBytes, rate, this.#unit)}\n`);
    }
  }

  /** Ends the bar's line (TTY). */
  finish(): void {
    if (this.#drawn) this.#stream.write("\n");
    this.#drawn = false;
  }
}

/**
 * Log lines plus one status line kept at the bottom of a terminal (redrawn in
 * place). On a pipe or file, status() does nothing and log() just prints.
 */
export class StatusLog {
  readonly #stream: ProgressStream;
  #status: string | null = null;

  constructor(stream: ProgressStream) {
    this.#stream = stream;
  }

  get isTTY(): boolean {
    return this.#stream.isTTY === true;
  }

  log(line: string): void {
    if (this.#status !== null) this.#stream.write(`\r\x1b[K${line}\n${this.#status}\x1b[K`);
    else this.#stream.write(`${line}\n`);
  }

  status(text: string): void {
    if (!this.isTTY) return;
    this.#status = text;
    this.#stream.write(`\r${text}\x1b[K`);
  }

  /** Ends the status line, leaving its last state on screen. */
  finish(): void {
    if (this.#status !== null) this.#stream.write("\n");
    this.#status = null;
  }
}
