import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const trackerPort = Number(process.env.TRACKER_PORT ?? 8001);

// The app lives in web/; static assets in public/. `npm run dev` serves it with
// Vite and proxies the tracker (WebSocket + JSON endpoints) to the Node process.
export default defineConfig({
  root: "web",
  publicDir: "../public",
  plugins: [react()],
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
