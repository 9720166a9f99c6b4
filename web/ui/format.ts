// Human-readable numbers for the UI: sizes, rates, durations, ratios.
// SI units (1 kB = 1000 B) as browsers' download UIs show them.

const units = ["B", "kB", "MB", "GB", "TB", "PB"] as const;

/** 0 → "0 B", 1536 → "1.5 kB", 12_345_678 → "12.3 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return "—";
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 999.95 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** Bytes per second as "1.5 MB/s"; zero stays "0 B/s". */
export function formatRate(bytesPerS: number): string {
  return `${formatBytes(bytesPerS)}/s`;
}

/** Seconds as "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h"; null or non-finite → "—". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return "—";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) {
    const rest = s % 60;
    return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const rest = minutes % 60;
    return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
  }
  const days = Math.floor(hours / 24);
  const rest = hours % 24;
  return rest === 0 ? `${days} d` : `${days} d ${rest} h`;
}

/** Upload/download ratio with two decimals; "∞" when uploaded with nothing downloaded (a seed). */
export function formatRatio(uploadedBytes: number, downloadedBytes: number): string {
  if (downloadedBytes <= 0) return uploadedBytes > 0 ? "∞" : "0.00";
  return (uploadedBytes / downloadedBytes).toFixed(2);
}

/** 0..1 → "42%"; keeps one decimal below 10% so slow starts visibly move; never shows 100% before done. */
export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction) || fraction <= 0) return "0%";
  if (fraction >= 1) return "100%";
  const pct = fraction * 100;
  if (pct < 10) return `${pct.toFixed(1)}%`;
  return `${Math.min(99, Math.floor(pct))}%`;
}

/** Whole percent 0-100 for aria-valuenow (floored, so 100 only when complete). */
export function percentValue(done: number, total: number): number {
  if (total <= 0) return done >= total ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}
