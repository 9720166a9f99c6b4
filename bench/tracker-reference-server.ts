// bittorrent-tracker's server (from .reference/, never shipped) in its own
// process for bench/tracker.ts: WebSocket only, on a free loopback port.
// Prints "SwarmDrop bench reference tracker listening on PORT" when ready.
import { pathToFileURL } from "node:url";
import { referenceServerPath } from "../tracker/reference-peers.ts";

interface ReferenceServer {
  on(event: "error" | "warning", listener: (err: Error) => void): void;
  listen(port: number, host: string, onListening: () => void): void;
  http: { address(): { port: number } | string | null };
  close(cb: () => void): void;
}

const mod = (await import(pathToFileURL(referenceServerPath).href)) as { default: new (opts: Record<string, unknown>) => ReferenceServer };
const server = new mod.default({ udp: false, http: false, ws: true, stats: false, trustProxy: false });
server.on("error", (err) => console.error(`reference tracker error: ${err.message}`));
server.on("warning", () => {});
server.listen(0, "127.0.0.1", () => {
  const address = server.http.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(`SwarmDrop bench reference tracker listening on ${port}`);
});
const stop = (): void => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
