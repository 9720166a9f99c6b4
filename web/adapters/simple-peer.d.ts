// simple-peer 9's shipped browser bundle (it carries its own Node shims, so the
// app does not need Node globals). Only what the adapters use is typed.
declare module "simple-peer/simplepeer.min.js" {
  import type { DataChannelLike } from "./peer-transport.ts";

  export interface SimplePeerOptions {
    initiator?: boolean;
    trickle?: boolean;
    config?: RTCConfiguration;
    channelConfig?: RTCDataChannelInit;
    /** With trickle off: give up waiting for ICE gathering after this long (default 5000 ms). */
    iceCompleteTimeout?: number;
  }

  export interface SimplePeerInstance {
    readonly _channel: DataChannelLike | null;
    readonly _pc: { readonly sctp?: { readonly maxMessageSize: number } | null } | null;
    signal(description: { readonly type: string; readonly sdp: string }): void;
    on(event: "data", listener: (data: Uint8Array) => void): SimplePeerInstance;
    on(event: "close", listener: () => void): SimplePeerInstance;
    on(event: "error", listener: (err: Error) => void): SimplePeerInstance;
    once(event: "signal", listener: (data: { readonly type?: string; readonly sdp?: string }) => void): SimplePeerInstance;
    once(event: "connect", listener: () => void): SimplePeerInstance;
    once(event: "close", listener: () => void): SimplePeerInstance;
    once(event: "error", listener: (err: Error) => void): SimplePeerInstance;
    destroy(err?: Error): void;
  }

  const SimplePeer: {
    new (options?: SimplePeerOptions): SimplePeerInstance;
    readonly WEBRTC_SUPPORT: boolean;
  };
  export default SimplePeer;
}
