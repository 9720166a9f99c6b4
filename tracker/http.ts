// HTTP beside the WebSocket tracker on the same port: the built web app (static
// files, SPA fallback to index.html, long caching for hashed /assets/, /sw.js
// as JavaScript with no-cache so a new stream Service Worker is picked up), plus
// /stats.json, /metrics (Prometheus text format 0.0.4) and /config.json.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import type { IceServer } from "./config.ts";

export interface TrackerStats {
  swarms: number;
  peers: number;
  seeders: number;
  leechers: number;
  connections: number;
  messagesPerS: number;
  messages: number;
  announces: number;
  answers: number;
  scrapes: number;
  offersRelayed: number;
  answersRelayed: number;
  answersRefused: number;
  badMessages: number;
  rateLimited: number;
  closedForAbuse: number;
  storeErrors: number;
  /** Messages per socket write, thanks to write coalescing (1 = none). */
  framesPerWrite: number;
  rssBytes: number;
  uptimeS: number;
  processId: string;
  store: "memory" | "redis";
}

export interface HttpOptions {
  distDir: string | null;
  iceServers: readonly IceServer[];
  stats: () => Promise<TrackerStats>;
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".woff2": "font/woff2",
  ".woff": "font/woff",
  ".txt": "text/plain; charset=utf-8",
  ".torrent": "application/x-bittorrent",
};

/** Vite puts content-hashed files under /assets/: they never change, so they may be cached for a year. */
const IMMUTABLE = "public, max-age=31536000, immutable";

function sendText(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body), "cache-control": "no-store", "x-content-type-options": "nosniff", ...extra });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

export function createHttpHandler(options: HttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const distDir = options.distDir === null ? null : resolve(options.distDir);
  const configBody = JSON.stringify({ iceServers: options.iceServers });

  const serveFile = async (res: ServerResponse, file: string, cacheControl: string): Promise<boolean> => {
    let info;
    try {
      info = await stat(file);
    } catch {
      return false;
    }
    if (!info.isFile()) return false;
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream",
      "content-length": info.size,
      "cache-control": cacheControl,
      "x-content-type-options": "nosniff",
    });
    if (res.req.method === "HEAD") {
      res.end();
      return true;
    }
    const stream = createReadStream(file);
    stream.on("error", () => res.destroy());
    stream.pipe(res);
    return true;
  };

  const serveStatic = async (res: ServerResponse, pathname: string): Promise<void> => {
    if (distDir === null) {
      sendText(res, 404, "text/plain; charset=utf-8", "This tracker serves no web app (DIST_DIR is empty).\n");
      return;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      sendText(res, 400, "text/plain; charset=utf-8", "Bad request: malformed URL encoding.\n");
      return;
    }
    // No path traversal: the resolved file must stay inside distDir.
    const file = resolve(distDir, "." + (decoded.startsWith("/") ? decoded : "/" + decoded));
    if (decoded.includes("\0") || (file !== distDir && !file.startsWith(distDir + sep))) {
      sendText(res, 404, "text/plain; charset=utf-8", "Not found.\n");
      return;
    }
    if (decoded.startsWith("/stream/")) {
      // Answered in the browser by the app's Service Worker (/sw.js); reaching the server means it did not.
      sendText(res, 404, "text/plain; charset=utf-8", "This /stream/ URL is played through SwarmDrop's Service Worker in a page that has the transfer: open SwarmDrop there and press Play.\n");
      return;
    }
    const isAsset = decoded.startsWith("/assets/");
    if (file !== distDir && (await serveFile(res, file, isAsset ? IMMUTABLE : "no-cache"))) return;
    if (await serveFile(res, resolve(file, "index.html"), "no-cache")) return;
    // A missing asset or file is a 404; any other path is a client-side route of the app.
    if (isAsset || extname(decoded) !== "") {
      sendText(res, 404, "text/plain; charset=utf-8", "Not found.\n");
      return;
    }
    if (await serveFile(res, resolve(distDir, "index.html"), "no-cache")) return;
    sendText(res, 503, "text/plain; charset=utf-8", "The web app is not built: run `npm run build` first.\n");
  };

  return (req, res) => {
    void (async () => {
      const method = req.method ?? "GET";
      if (method !== "GET" && method !== "HEAD") {
        sendText(res, 405, "text/plain; charset=utf-8", "Method not allowed.\n", { allow: "GET, HEAD" });
        return;
      }
      let pathname: string;
      try {
        pathname = new URL(req.url ?? "/", "http://tracker.invalid").pathname;
      } catch {
        sendText(res, 400, "text/plain; charset=utf-8", "Bad request.\n");
        return;
      }
      switch (pathname) {
        case "/stats.json":
          sendText(res, 200, "application/json; charset=utf-8", JSON.stringify(await options.stats()) + "\n");
          return;
        case "/metrics":
          sendText(res, 200, "text/plain; version=0.0.4; charset=utf-8", prometheusText(await options.stats()));
          return;
        case "/config.json":
          sendText(res, 200, "application/json; charset=utf-8", configBody, { "cache-control": "no-cache" });
          return;
        default:
          await serveStatic(res, pathname);
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) sendText(res, 500, "text/plain; charset=utf-8", `Internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      else res.destroy();
    });
  };
}

const METRICS: { key: keyof TrackerStats; name: string; type: "gauge" | "counter"; help: string }[] = [
  { key: "swarms", name: "swarmdrop_tracker_swarms", type: "gauge", help: "Swarms with at least one peer." },
  { key: "peers", name: "swarmdrop_tracker_peers", type: "gauge", help: "Peers in all swarms." },
  { key: "seeders", name: "swarmdrop_tracker_seeders", type: "gauge", help: "Peers with the whole torrent." },
  { key: "leechers", name: "swarmdrop_tracker_leechers", type: "gauge", help: "Peers still downloading." },
  { key: "connections", name: "swarmdrop_tracker_connections", type: "gauge", help: "Open WebSocket connections of this process." },
  { key: "messagesPerS", name: "swarmdrop_tracker_messages_per_second", type: "gauge", help: "Messages received per second, averaged over 10 s." },
  { key: "messages", name: "swarmdrop_tracker_messages_total", type: "counter", help: "Messages received." },
  { key: "announces", name: "swarmdrop_tracker_announces_total", type: "counter", help: "Announces handled." },
  { key: "answers", name: "swarmdrop_tracker_answers_total", type: "counter", help: "Answers received." },
  { key: "scrapes", name: "swarmdrop_tracker_scrapes_total", type: "counter", help: "Scrapes handled." },
  { key: "offersRelayed", name: "swarmdrop_tracker_offers_relayed_total", type: "counter", help: "Offers delivered to a peer." },
  { key: "answersRelayed", name: "swarmdrop_tracker_answers_relayed_total", type: "counter", help: "Answers delivered to an offerer." },
  { key: "answersRefused", name: "swarmdrop_tracker_answers_refused_total", type: "counter", help: "Answers matching no live offer relayed to the answerer." },
  { key: "badMessages", name: "swarmdrop_tracker_bad_messages_total", type: "counter", help: "Messages refused as invalid." },
  { key: "rateLimited", name: "swarmdrop_tracker_rate_limited_total", type: "counter", help: "Messages dropped by the per-connection rate limit." },
  { key: "closedForAbuse", name: "swarmdrop_tracker_closed_for_abuse_total", type: "counter", help: "Connections closed after repeated bad messages." },
  { key: "storeErrors", name: "swarmdrop_tracker_store_errors_total", type: "counter", help: "Messages that failed because the store did." },
  { key: "framesPerWrite", name: "swarmdrop_tracker_frames_per_write", type: "gauge", help: "Messages per socket write since start (write coalescing)." },
  { key: "rssBytes", name: "swarmdrop_tracker_resident_memory_bytes", type: "gauge", help: "Resident set size of this process." },
  { key: "uptimeS", name: "swarmdrop_tracker_uptime_seconds", type: "gauge", help: "Seconds since this process started." },
];

/** Prometheus text exposition format 0.0.4: HELP, TYPE, then `name value` per metric. */
export function prometheusText(stats: TrackerStats): string {
  let out = "";
  for (const m of METRICS) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n${m.name}{store="${stats.store}"} ${Number(stats[m.key])}\n`;
  }
  return out;
}
