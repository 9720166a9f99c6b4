// WebRTC and WebSocket for the headless peer: simple-peer over @roamhq/wrtc
// (an optional dependency) and `ws`, shaped for web/adapters' tracker client
// and peer transport, which are environment-neutral.
//
// @roamhq/wrtc's RTCDataChannel never fires `bufferedamountlow`; the
// PeerTransport's poll() (called every pollIntervalMs here) stands in for it
// by reading bufferedAmount.
import { createRequire } from "node:module";
import SimplePeer from "simple-peer";
import WebSocket from "ws";
import type { DataPeer } from "../web/adapters/peer-transport.ts";
import type { SignalingPeer, WebSocketLike } from "../web/adapters/tracker-client.ts";
import { EngineUnavailableError } from "./errors.ts";

/** A simple-peer instance as both adapters see it. */
export type NodePeer = SignalingPeer & DataPeer;

type Wrtc = NonNullable<SimplePeer.Options["wrtc"]>;
let wrtcModule: Wrtc | null = null;

/** Loads @roamhq/wrtc once; a clear error when it is not installed (it is an optional dependency). */
export function loadWrtc(): Wrtc {
  if (wrtcModule !== null) return wrtcModule;
  try {
    const require = createRequire(import.meta.url);
    wrtcModule = require("@roamhq/wrtc") as Wrtc;
    return wrtcModule;
  } catch (err) {
    throw new EngineUnavailableError(
      `WebRTC for Node (@roamhq/wrtc, an optional dependency) could not be loaded: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}. ` +
        "Run `npm install --include=optional` on a platform it supports.",
    );
  }
}

export interface NodePeerOptions {
  readonly initiator: boolean;
  readonly iceServers?: readonly RTCIceServer[];
}

/** A non-trickle simple-peer over wrtc (the WebSocket tracker protocol sends complete SDP). */
export function createNodePeer(options: NodePeerOptions): NodePeer {
  const peer = new SimplePeer({
    initiator: options.initiator,
    trickle: false,
    wrtc: loadWrtc(),
    config: { iceServers: [...(options.iceServers ?? [])] },
  });
  return peer as unknown as NodePeer;
}

/** A `ws` client socket with the browser WebSocket's on* properties (text frames arrive as strings). */
export function createNodeSocket(url: string): WebSocketLike {
  const socket = new WebSocket(url);
  // `ws` is an EventEmitter: an "error" with no listener would crash the process
  // (e.g. close() before the connection opened, after the tracker client
  // detached its handlers). The client learns of failures from onclose.
  socket.on("error", () => undefined);
  return socket as unknown as WebSocketLike;
}
