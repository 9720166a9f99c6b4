// Minimal placeholder: serves the built app and accepts WebSocket upgrades.
// The tracker issue replaces this with the real WebTorrent-compatible tracker.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { WebSocketServer } from "ws";

const port = Number(process.env.PORT ?? 8000);
const host = process.env.HOST ?? "0.0.0.0";
const distDir = resolve(process.env.DIST_DIR ?? "dist");
const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".map": "application/json",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webmanifest": "application/manifest+json",
};

const server = createServer((req, res) => {
  void (async () => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const relative = normalize(decodeURIComponent(url.pathname)).replace(/^(\.\.[/\\])+/, "");
    let file = join(distDir, relative);
    if (!file.startsWith(distDir)) file = join(distDir, "index.html");
    try {
      if (file.endsWith("/")) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      try {
        const body = await readFile(join(distDir, "index.html"));
        res.writeHead(200, { "content-type": types[".html"]! });
        res.end(body);
      } catch {
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("The web app is not built: run `npm run build` first.\n");
      }
    }
  })();
});
const wss = new WebSocketServer({ server });
wss.on("connection", (socket) => socket.on("message", () => socket.send(JSON.stringify({ "failure reason": "tracker not implemented yet" }))));
server.listen(port, host, () => console.log(`SwarmDrop on http://localhost:${port}`));
