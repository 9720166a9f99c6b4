// Test-only: bittorrent-tracker's WebSocket server (from the git-ignored
// .reference/, scripts/install-reference.sh) on a free loopback port, and
// whether @roamhq/wrtc loads. Shared by the CLI's real-network tests.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { loadWrtc } from "./node-peer.ts";

export const referenceTrackerPath = resolve(import.meta.dirname, "..", ".reference", "node_modules", "bittorrent-tracker", "server.js");

export const haveReferenceTracker: boolean = existsSync(referenceTrackerPath);

export const wrtcLoads: boolean = ((): boolean => {
  try {
    loadWrtc();
    return true;
  } catch {
    return false;
  }
})();

interface ReferenceServer {
  listen(port: number, host: string, cb: () => void): void;
  close(cb?: () => void): void;
  http: { address(): { port: number } };
}

export interface RunningReferenceTracker {
  /** ws://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

export async function startReferenceTracker(): Promise<RunningReferenceTracker> {
  const mod = (await import(pathToFileURL(referenceTrackerPath).href)) as { default: new (opts: object) => ReferenceServer };
  const server = new mod.default({ udp: false, http: false, ws: true, stats: false });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `ws://127.0.0.1:${server.http.address().port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
