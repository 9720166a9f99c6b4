// Loads the reference peers (bittorrent-tracker, installed by
// scripts/install-reference.sh into the git-ignored .reference/) and
// @roamhq/wrtc for tests and benchmarks only: never imported by shipping code.
// Absent, they make tests skip locally; under CI=true their absence is an error.
import { existsSync } from "node:fs";
import { createRequire, register } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

export class MissingReferenceError extends Error {
  override name = "MissingReferenceError";
}

const root = resolve(import.meta.dirname, "..");
export const referenceDir = resolve(root, ".reference/node_modules");

/** True when bittorrent-tracker is installed; under CI a missing install throws. */
export function haveReferenceTracker(): boolean {
  const ok = existsSync(resolve(referenceDir, "bittorrent-tracker/package.json"));
  if (!ok && process.env.CI) throw new MissingReferenceError("bittorrent-tracker is not installed in .reference/: run scripts/install-reference.sh");
  return ok;
}

/** True when @roamhq/wrtc loads; under CI a missing one throws. */
export function haveWrtc(): boolean {
  try {
    createRequire(import.meta.url)("@roamhq/wrtc");
    return true;
  } catch (err) {
    if (process.env.CI) throw new MissingReferenceError(`@roamhq/wrtc does not load (npm install installs it as an optional dependency): ${String(err)}`);
    return false;
  }
}

export function loadWrtc(): unknown {
  return createRequire(import.meta.url)("@roamhq/wrtc");
}

/** Event emitter surface of bittorrent-tracker's Client used by the tests. */
export interface ReferenceClient {
  on(event: "peer", listener: (peer: ReferencePeer) => void): void;
  on(event: "update" | "scrape", listener: (data: { complete: number; incomplete: number }) => void): void;
  on(event: "warning" | "error", listener: (err: Error) => void): void;
  start(): void;
  stop(): void;
  scrape(): void;
  destroy(cb?: () => void): void;
}

export interface ReferencePeer {
  id?: string;
  connected: boolean;
  on(event: "connect" | "close", listener: () => void): void;
  on(event: "data", listener: (data: Uint8Array) => void): void;
  on(event: "error", listener: (err: Error) => void): void;
  send(data: string | Uint8Array): void;
  destroy(): void;
}

export interface ReferenceClientOptions {
  infoHash: string;
  peerId: string;
  announce: string[];
  port: number;
  wrtc: unknown;
  rtcConfig?: { iceServers: unknown[] };
}

let shimInstalled = false;

/**
 * bittorrent-tracker's client uses @thaunknown/simple-peer, which takes WebRTC
 * from the `webrtc-polyfill` module (node-datachannel, a native build that
 * install-reference.sh skips) and ignores its `wrtc` option. This loader hook
 * answers `webrtc-polyfill` with @roamhq/wrtc instead, so the reference client
 * runs unchanged on Node's WebRTC.
 */
export function installWrtcShim(): void {
  if (shimInstalled) return;
  shimInstalled = true;
  const wrtcPath = createRequire(import.meta.url).resolve("@roamhq/wrtc");
  const names = ["RTCPeerConnection", "RTCSessionDescription", "RTCIceCandidate", "RTCDataChannel", "MediaStream", "MediaStreamTrack", "RTCPeerConnectionIceEvent", "RTCDataChannelEvent"];
  const shim =
    `import { createRequire } from "node:module";\n` +
    `const w = createRequire(${JSON.stringify(pathToFileURL(wrtcPath).href)})(${JSON.stringify(wrtcPath)});\n` +
    names.map((n) => `export const ${n} = w.${n};`).join("\n") +
    `\nexport default w;\n`;
  const shimUrl = "data:text/javascript," + encodeURIComponent(shim);
  const hooks =
    `export async function resolve(specifier, context, next) {\n` +
    `  if (specifier === "webrtc-polyfill") return { url: ${JSON.stringify(shimUrl)}, shortCircuit: true };\n` +
    `  return next(specifier, context);\n}\n`;
  register("data:text/javascript," + encodeURIComponent(hooks));
}

export async function loadReferenceClient(): Promise<new (opts: ReferenceClientOptions) => ReferenceClient> {
  installWrtcShim();
  const mod = (await import(pathToFileURL(resolve(referenceDir, "bittorrent-tracker/index.js")).href)) as { default: new (opts: ReferenceClientOptions) => ReferenceClient };
  return mod.default;
}

/** Path of bittorrent-tracker's server module, for a child process to import. */
export const referenceServerPath = resolve(referenceDir, "bittorrent-tracker/server.js");
