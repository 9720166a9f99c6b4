// A small dependency-free SVG chart of a simulator run: the fraction of
// downloaders finished over time against the fluid lower bound D_min, and the
// copies of the rarest piece (and the mean) among downloaders over time.
import type { SimResult } from "./swarm-sim.ts";

const W = 720;
const H = 300;
const M = { l: 56, r: 16, t: 28, b: 40 };

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

function panel(
  title: string,
  yLabel: string,
  xMax: number,
  yMax: number,
  series: { points: [number, number][]; color: string; label: string; step?: boolean }[],
  vline: { x: number; label: string } | null,
  offsetY: number,
): string {
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const sx = (x: number): number => M.l + (x / xMax) * pw;
  const sy = (y: number): number => offsetY + M.t + ph - (y / yMax) * ph;
  let out = `<text x="${M.l}" y="${offsetY + 18}" font-size="14" font-weight="bold">${esc(title)}</text>`;
  out += `<rect x="${M.l}" y="${offsetY + M.t}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`;
  for (let k = 0; k <= 5; k++) {
    const x = (xMax * k) / 5;
    const y = (yMax * k) / 5;
    out += `<text x="${sx(x)}" y="${offsetY + H - M.b + 16}" font-size="11" text-anchor="middle">${x.toFixed(0)}</text>`;
    out += `<text x="${M.l - 6}" y="${sy(y) + 4}" font-size="11" text-anchor="end">${yMax <= 1 ? y.toFixed(1) : y.toFixed(0)}</text>`;
  }
  out += `<text x="${M.l + pw / 2}" y="${offsetY + H - 6}" font-size="12" text-anchor="middle">virtual time (s)</text>`;
  out += `<text x="14" y="${offsetY + M.t + ph / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 14 ${offsetY + M.t + ph / 2})">${esc(yLabel)}</text>`;
  series.forEach((s, k) => {
    if (s.points.length === 0) return;
    const d = s.points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    out += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    out += `<text x="${M.l + 10}" y="${offsetY + M.t + 16 + 14 * k}" font-size="12" fill="${s.color}">${esc(s.label)}</text>`;
  });
  if (vline !== null && vline.x <= xMax) {
    out += `<line x1="${sx(vline.x)}" x2="${sx(vline.x)}" y1="${offsetY + M.t}" y2="${offsetY + M.t + ph}" stroke="#c00" stroke-dasharray="5,4"/>`;
    out += `<text x="${sx(vline.x) + 4}" y="${offsetY + M.t + ph - 6}" font-size="12" fill="#c00">${esc(vline.label)}</text>`;
  }
  return out;
}

/** The SVG document for one run. */
export function runChartSvg(r: SimResult, title: string): string {
  const xMax = Math.max(r.virtualS, r.fluidBoundS) * 1.02 || 1;
  const done = r.outcomes
    .filter((o) => o.completedS !== null)
    .map((o) => o.completedS!)
    .sort((a, b) => a - b);
  const cdf: [number, number][] = [[0, 0]];
  done.forEach((t, i) => {
    cdf.push([t, i / r.peers]);
    cdf.push([t, (i + 1) / r.peers]);
  });
  const riders = r.outcomes.filter((o) => o.freeRider);
  const series = [{ points: cdf, color: "#1f6fb2", label: `downloaders finished (${done.length}/${r.peers})` }];
  if (riders.length > 0) {
    const rd = riders
      .filter((o) => o.completedS !== null)
      .map((o) => o.completedS!)
      .sort((a, b) => a - b);
    const rc: [number, number][] = [[0, 0]];
    rd.forEach((t, i) => {
      rc.push([t, i / riders.length]);
      rc.push([t, (i + 1) / riders.length]);
    });
    series.push({ points: rc, color: "#e08a00", label: `free-riders finished (fraction of ${riders.length})` });
  }
  const top = panel(
    `${title}: completion vs fluid bound (ratio ${r.ratio.toFixed(3)})`,
    "fraction finished",
    xMax,
    1,
    series,
    { x: r.fluidBoundS, label: `D_min ${r.fluidBoundS.toFixed(1)} s` },
    0,
  );
  const maxCopies = Math.max(1, ...r.samples.map((s) => s.meanCopies));
  const bottom = panel(
    "piece availability among downloaders",
    "copies",
    xMax,
    Math.ceil(maxCopies),
    [
      { points: r.samples.map((s) => [s.t, s.minCopies]), color: "#2a9d3a", label: "copies of the rarest piece" },
      { points: r.samples.map((s) => [s.t, s.meanCopies]), color: "#777", label: "mean copies per piece" },
    ],
    r.seedLeftAtS === null ? null : { x: r.seedLeftAtS, label: "seed left" },
    H,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" font-family="sans-serif">${top}${bottom}</svg>\n`;
}
