// The messages between the stream Service Worker (web/sw/stream-worker.ts) and
// the page that owns a transfer (web/swarm/stream-host.ts). Per player request
// the worker posts one OpenMessage to a window client with a MessagePort; all
// further messages of that request go over the port:
//
//   worker -> page   { type: "open" }          (the OpenMessage itself)
//   page -> worker   "file" (size, name, type) | "missing" (not here) | "error"
//   worker -> page   "read" { start, end }      (end exclusive), then "pull" per chunk
//   page -> worker   "chunk" { bytes } | "end" | "error"    (one answer per pull)
//   worker -> page   "cancel"                  (the player went away; stop waiting)
//
// The page produces a chunk only when pulled, so at most a piece is in flight.

export const openType = "swarmdrop-stream-open";
/** Sent by a page to its controller while streams are open, so the worker is not stopped as idle. */
export const keepAliveType = "swarmdrop-stream-keepalive";

export interface OpenMessage {
  readonly type: typeof openType;
  readonly infoHash: string;
  readonly fileIndex: number;
}

export type WorkerToPage = { readonly type: "read"; readonly start: number; readonly end: number } | { readonly type: "pull" } | { readonly type: "cancel" };

export type PageToWorker =
  | { readonly type: "file"; readonly lengthBytes: number; readonly name: string; readonly mime: string }
  | { readonly type: "missing"; readonly message: string }
  | { readonly type: "chunk"; readonly bytes: ArrayBuffer }
  | { readonly type: "end" }
  | { readonly type: "error"; readonly message: string };

export function isOpenMessage(data: unknown): data is OpenMessage {
  if (typeof data !== "object" || data === null) return false;
  const d = data as Record<string, unknown>;
  return d.type === openType && typeof d.infoHash === "string" && typeof d.fileIndex === "number";
}
