// Entry point: creates the one TransferManager for this page (wiring the swarm
// side's adapters: IndexedDB, WebSocket tracker clients, simple-peer data
// channels, the core session), the one store fed by it, and renders the app.
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import SimplePeer from "simple-peer/simplepeer.min.js";
import { TorrentSession } from "../core/engine/session.ts";
import { fetchIceServers } from "./adapters/peer-transport.ts";
import { idbKv, memoryKv } from "./adapters/piece-store.ts";
import type { WebSocketLike } from "./adapters/tracker-client.ts";
import { App } from "./App.tsx";
import { SwarmProvider } from "./state/context.tsx";
import { createSwarmStore } from "./state/store.ts";
import { prewarmHashWorkers } from "./swarm/hashing.ts";
import { SwarmTransferManager, type SwarmPeer } from "./swarm/manager.ts";
import { ServiceWorkerStreamHost } from "./swarm/stream-host.ts";
import "./styles.css";

/** Why this browser cannot run SwarmDrop, or null. */
function unsupportedReason(): string | null {
  const w = window as unknown as Record<string, unknown>;
  const missing: string[] = [];
  if (typeof w.RTCPeerConnection !== "function") missing.push("WebRTC (peer-to-peer data channels)");
  if (typeof w.indexedDB !== "object" || w.indexedDB === null) missing.push("IndexedDB (storage for downloaded pieces)");
  if (typeof crypto === "undefined" || typeof crypto.subtle === "undefined") missing.push("WebCrypto (a secure https:// page is needed)");
  if (missing.length === 0) return null;
  return `This browser lacks ${missing.join(" and ")}, which SwarmDrop needs to share and download files.`;
}

function announceUrl(): string {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/announce`;
}

const reason = unsupportedReason();
let iceServers: RTCIceServer[] = [];
if (reason === null) iceServers = await fetchIceServers("/config.json");

// Plays audio/video while downloading: our Service Worker answers /stream/ URLs with bytes from this page.
const streaming = new ServiceWorkerStreamHost({
  container: reason === null && "serviceWorker" in navigator ? navigator.serviceWorker : null,
  isSecureContext: window.isSecureContext,
});

const manager = new SwarmTransferManager(
  { origin: window.location.origin, defaultTrackers: [announceUrl()], unsupportedReason: reason },
  {
    createSession: (init, components) => new TorrentSession(init, components),
    // Without IndexedDB the manager refuses every call; it still needs a store to be built.
    kv: reason === null ? idbKv() : memoryKv(0),
    createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
    createPeer: ({ initiator }) => new SimplePeer({ initiator, trickle: false, config: { iceServers } }) as unknown as SwarmPeer,
    nowMs: () => Date.now(),
    monotonicMs: () => performance.now(),
    randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
    streaming,
  },
);

const store = createSwarmStore(manager);
store.connect();
streaming.attach(manager, {
  onError: (message) => store.getState().actions.notify("error", "Playback stopped", `${message.replace(/[.\s]+$/, "")}.`),
});
// The hashing workers load while the page is idle, so a drop starts hashing at once.
if (reason === null) setTimeout(() => prewarmHashWorkers(), 0);
window.addEventListener("pagehide", () => manager.close());

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SwarmProvider store={store}>
      <App />
    </SwarmProvider>
  </StrictMode>,
);
