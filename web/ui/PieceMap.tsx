// One cell per piece on a canvas (thousands of pieces stay cheap): verified,
// downloading, or missing shaded by how many peers have it. Screen readers get
// the counts through the aria-label; the legend explains the colours.
import { useEffect, useMemo, useRef, useState, type RefObject } from "react";
import { countPieces, darkPalette, lightPalette, pieceAt, pieceCellColour, pieceGrid, pieceMapSummary, pieceTitle, rgbCss, type PiecePalette } from "./pieceMapModel.ts";

export interface PieceMapProps {
  readonly pieceStates: Uint8Array;
  readonly availability: Uint16Array;
}

function usePrefersDark(): boolean {
  const query = typeof window !== "undefined" && typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  const [dark, setDark] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const onChange = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener("change", onChange);
    return () => query.removeEventListener("change", onChange);
  }, [query]);
  return dark;
}

function useWidth(ref: RefObject<HTMLElement | null>): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    setWidth(el.clientWidth);
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver((entries) => {
      const w = entries[0]?.contentRect.width;
      if (w !== undefined) setWidth(Math.floor(w));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, [ref]);
  return width;
}

export function PieceMap({ pieceStates, availability }: PieceMapProps) {
  // Counted and painted on every render: the arrays may be refilled in place by
  // the projection, and 10 000 pieces cost well under a millisecond.
  const counts = countPieces(pieceStates, availability);
  const summary = pieceMapSummary(counts);
  const wrapRef = useRef<HTMLDivElement>(null);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const width = useWidth(wrapRef);
  const palette: PiecePalette = usePrefersDark() ? darkPalette : lightPalette;
  const grid = useMemo(() => pieceGrid(pieceStates.length, width || 600), [pieceStates.length, width]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || grid.columns === 0) return;
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = grid.columns * grid.cellPx;
    // Only when the size changed: setting width or height reallocates and clears the
    // canvas, and this runs on every render (four a second during a transfer).
    const pixelWidth = Math.round(cssWidth * ratio);
    const pixelHeight = Math.round(grid.heightPx * ratio);
    if (canvas.width !== pixelWidth) canvas.width = pixelWidth;
    if (canvas.height !== pixelHeight) canvas.height = pixelHeight;
    if (canvas.style.width !== `${cssWidth}px`) canvas.style.width = `${cssWidth}px`;
    if (canvas.style.height !== `${grid.heightPx}px`) canvas.style.height = `${grid.heightPx}px`;
    let ctx: CanvasRenderingContext2D | null = null;
    try {
      ctx = canvas.getContext("2d");
    } catch {
      ctx = null; // no canvas support (jsdom): the aria summary and legend still say it all
    }
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, cssWidth, grid.heightPx);
    const size = grid.cellPx - grid.gapPx;
    let lastColour = "";
    for (let i = 0; i < pieceStates.length; i++) {
      const colour = rgbCss(pieceCellColour(pieceStates[i] ?? 0, availability[i] ?? 0, counts.maxAvailability, palette));
      if (colour !== lastColour) {
        ctx.fillStyle = colour;
        lastColour = colour;
      }
      const x = (i % grid.columns) * grid.cellPx;
      const y = Math.floor(i / grid.columns) * grid.cellPx;
      ctx.fillRect(x, y, size, size);
    }
  });

  return (
    <figure className="piece-map">
      <div ref={wrapRef} className="piece-map-canvas">
        {pieceStates.length > 0 ? (
          <canvas
            ref={canvasRef}
            role="img"
            aria-label={summary}
            title={summary}
            onMouseMove={(e) => {
              // Pointer users can read one piece; the title is set directly, no re-render per move.
              const box = e.currentTarget.getBoundingClientRect();
              const index = pieceAt(grid, e.clientX - box.left, e.clientY - box.top, pieceStates.length);
              e.currentTarget.title = index === null ? summary : pieceTitle(index, pieceStates[index] ?? 0, availability[index] ?? 0);
            }}
          />
        ) : (
          <p role="img" aria-label={summary} className="muted">
            Waiting for the file list from peers…
          </p>
        )}
      </div>
      {pieceStates.length === 0 ? null : (
        <figcaption className="legend">
          <span>
            <i style={{ background: rgbCss(palette.have) }} /> Have
          </span>
          <span>
            <i style={{ background: rgbCss(palette.downloading) }} /> Downloading
          </span>
          <span>
            <i style={{ background: `linear-gradient(90deg, ${rgbCss(palette.missingFew)}, ${rgbCss(palette.missingMany)})` }} /> Missing (darker: more peers have it)
          </span>
          <span>
            <i style={{ background: rgbCss(palette.unavailable) }} /> On no peer
          </span>
        </figcaption>
      )}
    </figure>
  );
}
