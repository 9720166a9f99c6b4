// Pure HTTP helpers for the stream Service Worker (web/sw/stream-worker.ts):
// the /stream/ URL scheme, Range header parsing (RFC 9110 §14) and the media
// type of a file by its extension. No DOM, no worker globals: unit-tested.

/** URLs the Service Worker answers: /stream/<40-hex infohash>/<file index>/<file name>. */
export const streamPrefix = "/stream/";

export interface StreamTarget {
  /** 40 lowercase hex chars. */
  readonly infoHash: string;
  readonly fileIndex: number;
}

/** The URL path a player fetches for one file of a transfer (the name is only for people and save dialogs). */
export function streamPath(infoHash: string, fileIndex: number, name: string): string {
  return `${streamPrefix}${infoHash.toLowerCase()}/${fileIndex}/${encodeURIComponent(name)}`;
}

/** The transfer and file a /stream/ path names, or null when it is not one. */
export function parseStreamPath(pathname: string): StreamTarget | null {
  const m = /^\/stream\/([0-9a-fA-F]{40})\/(0|[1-9][0-9]{0,8})(?:\/[^/]*)?$/.exec(pathname);
  if (m === null) return null;
  return { infoHash: m[1]!.toLowerCase(), fileIndex: Number(m[2]) };
}

/**
 * What to answer for a Range header against a body of `size` bytes:
 *  - "whole": no Range header, or one we ignore (not `bytes=`, malformed): 200 with everything;
 *  - "range": 206 with bytes start..end (both inclusive);
 *  - "unsatisfiable": 416 with `Content-Range: bytes *\/size`.
 * Several ranges (`bytes=0-9,20-29`): only the first satisfiable one is served,
 * as a single-part 206 (its Content-Range says which bytes they are; RFC 9110
 * lets a server send fewer ranges than asked). Media players ask for one.
 */
export type RangeAnswer =
  | { readonly kind: "whole" }
  | { readonly kind: "range"; readonly start: number; readonly end: number }
  | { readonly kind: "unsatisfiable" };

const maxDigits = 15; // below Number.MAX_SAFE_INTEGER

export function parseRange(header: string | null, size: number): RangeAnswer {
  if (header === null) return { kind: "whole" };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (m === null) return { kind: "whole" };
  const specs = m[1]!.split(",").map((s) => s.trim());
  const parsed: ({ start: number; end: number } | { suffix: number })[] = [];
  for (const spec of specs) {
    if (spec === "") continue; // "bytes=0-1," tolerated, as RFC 9110's list rule allows empty elements
    const r = new RegExp(`^(\\d{1,${maxDigits}})?-(\\d{1,${maxDigits}})?$`).exec(spec);
    if (r === null) return { kind: "whole" };
    const [, a, b] = r;
    if (a === undefined && b === undefined) return { kind: "whole" };
    if (a === undefined) {
      parsed.push({ suffix: Number(b) });
      continue;
    }
    const start = Number(a);
    const end = b === undefined ? Number.POSITIVE_INFINITY : Number(b);
    if (end < start) return { kind: "whole" }; // invalid range-spec: the whole header is ignored
    parsed.push({ start, end });
  }
  if (parsed.length === 0) return { kind: "whole" };
  for (const p of parsed) {
    if ("suffix" in p) {
      if (p.suffix === 0 || size === 0) continue;
      return { kind: "range", start: Math.max(0, size - p.suffix), end: size - 1 };
    }
    if (p.start >= size) continue;
    return { kind: "range", start: p.start, end: Math.min(p.end, size - 1) };
  }
  return { kind: "unsatisfiable" };
}

const types: Readonly<Record<string, string>> = {
  mp4: "video/mp4",
  m4v: "video/mp4",
  mov: "video/quicktime",
  webm: "video/webm",
  mkv: "video/x-matroska",
  ogv: "video/ogg",
  mp3: "audio/mpeg",
  m4a: "audio/mp4",
  aac: "audio/aac",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/ogg",
  wav: "audio/wav",
  flac: "audio/flac",
  txt: "text/plain",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

/** The media type for a file name by its extension; application/octet-stream when unknown. */
export function mimeType(name: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase() ?? "";
  return types[ext] ?? "application/octet-stream";
}

/** "audio" or "video" for files a media element can play (by extension), else null. */
export function mediaKind(name: string): "audio" | "video" | null {
  const type = mimeType(name);
  if (type.startsWith("audio/")) return "audio";
  if (type.startsWith("video/")) return "video";
  return null;
}
