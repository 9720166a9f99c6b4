// Helpers for the tracker's socket tests: a raw WebSocket client that records
// parsed tracker messages, and loopback HTTP requests. Test-only.
import { request } from "node:http";
import { WebSocket } from "ws";
import { parseTrackerMessage, type TrackerMessage } from "../core/tracker-protocol.ts";

export const id20 = (tag: string): string => tag.padEnd(20, "_").slice(0, 20);

export class TestClient {
  readonly inbox: TrackerMessage[] = [];
  readonly raw: string[] = [];
  private waiters: { pred: (m: TrackerMessage) => boolean; resolve: (m: TrackerMessage) => void }[] = [];
  closeCode: number | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const text = String(data);
      this.raw.push(text);
      const parsed = parseTrackerMessage(text);
      if (!parsed.ok) throw parsed.error;
      this.inbox.push(parsed.value);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(parsed.value)) return true;
        w.resolve(parsed.value);
        return false;
      });
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code) => {
        this.closeCode = code;
        resolve(code);
      }),
    );
    ws.on("error", () => {});
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    });
    return client;
  }

  send(message: Record<string, unknown> | string): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Resolves with the first message (already received or to come) matching `pred`. */
  next(pred: (m: TrackerMessage) => boolean, timeoutMs = 5000): Promise<TrackerMessage> {
    const found = this.inbox.find(pred);
    if (found) {
      this.inbox.splice(this.inbox.indexOf(found), 1);
      return Promise.resolve(found);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; inbox: ${JSON.stringify(this.raw.slice(-5))}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          this.inbox.splice(this.inbox.indexOf(m), 1);
          resolve(m);
        },
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

export interface HttpReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET with the path sent exactly as given (no client-side normalisation of `..`). */
export function httpGet(port: number, path: string, method = "GET"): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

export const announceMsg = (infoHash: string, peerId: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  action: "announce",
  info_hash: infoHash,
  peer_id: peerId,
  numwant: 5,
  uploaded: 0,
  downloaded: 0,
  left: 100,
  ...extra,
});

export const offerList = (n: number, tag: string): Record<string, unknown>[] =>
  Array.from({ length: n }, (_, i) => ({ offer: { type: "offer", sdp: `v=0 ${tag}-${i}` }, offer_id: id20(`${tag}-${i}`) }));
