// The human side of the results: a plain-text table for stdout and one
// hand-written SVG bar chart per benchmark (no chart library).
import type { Figure, Goal } from "./ratios.ts";

function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatGoal(goal: Goal | null): string {
  return goal ? `${goal.op} ${goal.target}` : "";
}

function status(f: Figure): string {
  if (f.value === null) return "n/a";
  if (f.pass === null) return "";
  return f.pass ? "met" : "MISSED";
}

/** A fixed-width table: one row per figure; missing figures show their reason below the table. */
export function formatTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [f.label, f.value === null ? "-" : `${formatNumber(f.value)} ${f.unit === "ratio" ? "" : f.unit}`.trim(), formatGoal(f.goal), status(f)]);
  const header = ["Figure", "Value", "Goal", "Status"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, c) => (c === 1 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows) out.push(line(r));
  const notes = figures.filter((f) => f.value === null && f.reason);
  if (notes.length > 0) {
    out.push("");
    for (const f of notes) out.push(`${f.label}: ${f.reason}`);
  }
  return out.join("\n");
}

export interface Bar {
  label: string;
  value: number | null;
  /** Shown instead of a bar when value is null. */
  note?: string;
}

export interface ChartSpec {
  title: string;
  unit: string;
  bars: readonly Bar[];
  /** Horizontal reference lines (a goal, a bound). */
  lines?: readonly { label: string; value: number }[];
  /** One line under the title: the ratio, the size, the run. */
  subtitle?: string;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A vertical bar chart as a standalone SVG document. */
export function barChartSvg(spec: ChartSpec): string {
  const width = 640;
  const height = 360;
  const left = 64;
  const right = 24;
  const top = spec.subtitle ? 70 : 52;
  const bottom = 64;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const values = [...spec.bars.map((b) => b.value ?? 0), ...(spec.lines ?? []).map((l) => l.value)];
  const max = Math.max(...values, 0) || 1;
  const step = niceCeiling((max * 1.08) / 4);
  const ticks = Math.max(1, Math.ceil((max * 1.08) / step));
  const scaleMax = step * ticks;
  const y = (v: number): number => top + plotH - (v / scaleMax) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="26" text-anchor="middle" font-size="16" font-weight="600">${escapeXml(spec.title)}</text>`,
  ];
  if (spec.subtitle) parts.push(`<text x="${width / 2}" y="48" text-anchor="middle" fill="#555">${escapeXml(spec.subtitle)}</text>`);
  const anyValue = values.some((v) => v > 0);
  for (let i = 0; anyValue && i <= ticks; i++) {
    const v = step * i;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(formatNumber(v))}</text>`);
  }
  parts.push(`<text x="16" y="${top + plotH / 2}" transform="rotate(-90 16 ${top + plotH / 2})" text-anchor="middle" fill="#555">${escapeXml(spec.unit)}</text>`);
  const slot = plotW / Math.max(spec.bars.length, 1);
  const barW = Math.min(96, slot * 0.6);
  spec.bars.forEach((bar, i) => {
    const cx = left + slot * i + slot / 2;
    if (bar.value === null) {
      parts.push(`<rect x="${(cx - barW / 2).toFixed(1)}" y="${top}" width="${barW.toFixed(1)}" height="${plotH}" fill="none" stroke="#bbb" stroke-dasharray="4 4"/>`);
      parts.push(`<text x="${cx.toFixed(1)}" y="${top + plotH / 2}" text-anchor="middle" fill="#888">${escapeXml(bar.note ?? "not measured")}</text>`);
    } else {
      const h = (bar.value / scaleMax) * plotH;
      parts.push(`<rect x="${(cx - barW / 2).toFixed(1)}" y="${y(bar.value).toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="#3b6fd8"><title>${escapeXml(`${bar.label}: ${formatNumber(bar.value)} ${spec.unit}`)}</title></rect>`);
      parts.push(`<text x="${cx.toFixed(1)}" y="${(y(bar.value) - 6).toFixed(1)}" text-anchor="middle">${escapeXml(formatNumber(bar.value))}</text>`);
    }
    // A label may hold "\n" for a second line.
    const lines = bar.label.split("\n");
    const tspans = lines.map((text, k) => `<tspan x="${cx.toFixed(1)}" dy="${k === 0 ? 0 : 15}">${escapeXml(text)}</tspan>`).join("");
    parts.push(`<text x="${cx.toFixed(1)}" y="${top + plotH + 20}" text-anchor="middle">${tspans}</text>`);
  });
  for (const line of spec.lines ?? []) {
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(line.value).toFixed(1)}" y2="${y(line.value).toFixed(1)}" stroke="#d9480f" stroke-width="1.5" stroke-dasharray="6 3"/>`);
    parts.push(`<text x="${width - right}" y="${(y(line.value) - 5).toFixed(1)}" text-anchor="end" fill="#d9480f" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(`${line.label}: ${formatNumber(line.value)}`)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

/** The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (a readable axis step). */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value - 1e-12) return step * power;
  return 10 * power;
}
