import { fileURLToPath } from "node:url";
import { build, defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

const trackerPort = Number(process.env.TRACKER_PORT ?? 8001);
const streamWorkerEntry = fileURLToPath(new URL("./web/sw/stream-worker.ts", import.meta.url));

/** The stream Service Worker as one self-contained classic script (no imports: every browser can register it). */
async function bundleStreamWorker(minify: boolean): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: "warn",
    publicDir: false,
    build: {
      write: false,
      minify,
      sourcemap: false,
      target: "es2022",
      copyPublicDir: false,
      emptyOutDir: false,
      lib: { entry: streamWorkerEntry, formats: ["iife"], name: "swarmdropStreamWorker", fileName: () => "sw.js" },
    },
  });
  const outputs = Array.isArray(result) ? result : [result];
  for (const out of outputs) {
    if (!("output" in out)) continue;
    for (const item of out.output) if (item.type === "chunk" && item.isEntry) return item.code;
  }
  throw new Error("building the stream Service Worker produced no script");
}

/**
 * Emits /sw.js (at the site root, so its scope is the whole origin) and serves
 * it in `npm run dev`. The tracker's HTTP server sends it as JavaScript with
 * Cache-Control: no-cache, as it does every file outside /assets/.
 */
function streamWorker(): Plugin {
  return {
    name: "swarmdrop-stream-worker",
    async generateBundle() {
      this.emitFile({ type: "asset", fileName: "sw.js", source: await bundleStreamWorker(true) });
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.split("?")[0] !== "/sw.js") return next();
        bundleStreamWorker(false).then(
          (code) => {
            res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-cache" });
            res.end(code);
          },
          (err: unknown) => next(err),
        );
      });
    },
  };
}

// The app lives in web/; static assets in public/. `npm run dev` serves it with
// Vite and proxies the tracker (WebSocket + JSON endpoints) to the Node process.
export default defineConfig({
  root: "web",
  publicDir: "../public",
  plugins: [react(), streamWorker()],
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
  },
  worker: { format: "es" },
  server: {
    port: Number(process.env.PORT ?? 8000),
    proxy: {
      "/announce": { target: `ws://127.0.0.1:${trackerPort}`, ws: true },
      "/config.json": `http://127.0.0.1:${trackerPort}`,
      "/stats.json": `http://127.0.0.1:${trackerPort}`,
      "/metrics": `http://127.0.0.1:${trackerPort}`,
    },
  },
});
