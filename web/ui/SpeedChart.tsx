// A small SVG sparkline of download and upload speed over the recent samples.
import type { SpeedSample } from "../swarm/types.ts";
import { formatRate } from "./format.ts";

const widthPx = 240;
const heightPx = 48;

/** Polyline points for `values` scaled into the chart box against `max`. */
export function sparkPoints(values: readonly number[], max: number, width = widthPx, height = heightPx): string {
  if (values.length === 0) return "";
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  const scale = max > 0 ? (height - 2) / max : 0;
  return values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - v * scale).toFixed(1)}`).join(" ");
}

export function SpeedChart({ history }: { readonly history: readonly SpeedSample[] }) {
  const down = history.map((s) => s.downloadBytesPerS);
  const up = history.map((s) => s.uploadBytesPerS);
  const max = Math.max(1, ...down, ...up);
  const peakDown = Math.max(0, ...down);
  const peakUp = Math.max(0, ...up);
  const seconds = history.length >= 2 ? Math.round(((history.at(-1)?.atMs ?? 0) - (history[0]?.atMs ?? 0)) / 1000) : 0;
  const label =
    history.length < 2
      ? "Speed chart: not enough samples yet"
      : `Speed over the last ${seconds} s: download peak ${formatRate(peakDown)}, upload peak ${formatRate(peakUp)}`;
  return (
    <svg className="speed-chart" viewBox={`0 0 ${widthPx} ${heightPx}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <title>{label}</title>
      <line x1="0" y1={heightPx - 0.5} x2={widthPx} y2={heightPx - 0.5} className="axis" />
      {history.length >= 2 ? (
        <>
          <polyline points={sparkPoints(up, max)} className="line-up" fill="none" />
          <polyline points={sparkPoints(down, max)} className="line-down" fill="none" />
        </>
      ) : null}
    </svg>
  );
}
