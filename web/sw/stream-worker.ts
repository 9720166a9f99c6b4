// The stream Service Worker, served at /sw.js (scope: the whole origin; built
// as one self-contained script by the plugin in vite.config.ts). It answers
// GET/HEAD /stream/<infohash>/<file index>/<name> for <video>/<audio> elements
// with HTTP Range semantics (206 + Content-Range, 200 without Range, 416 when
// unsatisfiable), and streams the bytes as the page that owns the transfer
// supplies them (web/swarm/stream-host.ts; the protocol is web/sw/protocol.ts).
// The worker holds no data: each chunk is pulled from the page when the player
// reads, and a cancelled request tells the page to stop waiting for pieces.
import { parseRange, parseStreamPath, streamPrefix, type StreamTarget } from "./http-range.ts";
import { openType, type OpenMessage, type PageToWorker, type WorkerToPage } from "./protocol.ts";

// The few Service Worker globals used here (the project's TypeScript lib is DOM, not WebWorker).
interface SwClient {
  readonly id: string;
  postMessage(message: unknown, transfer: Transferable[]): void;
}
interface SwClients {
  get(id: string): Promise<SwClient | undefined>;
  matchAll(options: { readonly type: "window"; readonly includeUncontrolled: boolean }): Promise<readonly SwClient[]>;
  claim(): Promise<void>;
}
interface SwExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
}
interface SwFetchEvent extends SwExtendableEvent {
  readonly request: Request;
  readonly clientId: string;
  readonly resultingClientId: string;
  respondWith(response: Response | Promise<Response>): void;
}
interface SwScope {
  readonly clients: SwClients;
  readonly location: Location;
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate" | "message", listener: (event: SwExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: SwFetchEvent) => void): void;
}

const sw = self as unknown as SwScope;

/** How long a page has to answer "do you have this file?" before the next is asked. */
const openTimeoutMs = 10_000;
/** While waiting for bytes, how often the worker checks that the page supplying them is still open. */
const ownerCheckMs = 5_000;

sw.addEventListener("install", (event) => {
  event.waitUntil(sw.skipWaiting());
});

sw.addEventListener("activate", (event) => {
  // Take over pages already open, so their players can use /stream/ URLs without a reload.
  event.waitUntil(sw.clients.claim());
});

// Pages post a keep-alive while they stream: handling it is enough to keep this worker running.
sw.addEventListener("message", () => undefined);

sw.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin || !url.pathname.startsWith(streamPrefix)) return;
  const method = event.request.method;
  if (method !== "GET" && method !== "HEAD") {
    event.respondWith(text(405, "Only GET and HEAD are answered for /stream/ URLs.", { Allow: "GET, HEAD" }));
    return;
  }
  const target = parseStreamPath(url.pathname);
  if (target === null) {
    event.respondWith(text(404, "Not a SwarmDrop stream URL: /stream/<infohash>/<file number>/<name>."));
    return;
  }
  event.respondWith(
    answer(event, target).catch((err: unknown) => text(500, `The stream helper failed: ${err instanceof Error ? err.message : String(err)}`)),
  );
});

function text(status: number, body: string, extra: Record<string, string> = {}): Response {
  return new Response(body + "\n", { status, headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...extra } });
}

interface Opened {
  readonly port: MessagePort;
  readonly ownerId: string;
  readonly file: Extract<PageToWorker, { type: "file" }>;
}

async function answer(event: SwFetchEvent, target: StreamTarget): Promise<Response> {
  const found = await openAnywhere(event, target);
  if (!("port" in found)) return text(found.status, found.message);
  const { port, file, ownerId } = found;
  const size = file.lengthBytes;
  const range = parseRange(event.request.headers.get("Range"), size);
  const headers = new Headers({
    "Content-Type": file.mime,
    "Accept-Ranges": "bytes",
    "Cache-Control": "no-store",
    "Content-Disposition": `inline; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    "X-Content-Type-Options": "nosniff",
  });
  if (range.kind === "unsatisfiable") {
    close(port);
    headers.set("Content-Range", `bytes */${size}`);
    headers.set("Content-Type", "text/plain; charset=utf-8");
    return new Response(`The range ${event.request.headers.get("Range") ?? ""} lies outside the file's ${size} bytes.\n`, { status: 416, headers });
  }
  const start = range.kind === "range" ? range.start : 0;
  const end = range.kind === "range" ? range.end + 1 : size;
  if (range.kind === "range") headers.set("Content-Range", `bytes ${start}-${end - 1}/${size}`);
  headers.set("Content-Length", String(end - start));
  const status = range.kind === "range" ? 206 : 200;
  if (event.request.method === "HEAD" || end === start) {
    close(port);
    return new Response(null, { status, headers });
  }
  send(port, { type: "read", start, end });
  return new Response(pageStream(port, ownerId, event.request.signal), { status, headers });
}

function send(port: MessagePort, message: WorkerToPage): void {
  port.postMessage(message);
}

function close(port: MessagePort): void {
  send(port, { type: "cancel" });
  port.close();
}

/**
 * Finds the page that has the transfer: the one playing first (or the new tab
 * when the URL was opened directly), then every open window of the origin.
 */
async function openAnywhere(event: SwFetchEvent, target: StreamTarget): Promise<Opened | { status: number; message: string }> {
  const tried = new Set<string>();
  let failure: string | null = null;
  for (const id of [event.clientId, event.resultingClientId]) {
    if (id === "" || tried.has(id)) continue;
    tried.add(id);
    const client = await sw.clients.get(id);
    if (client === undefined) continue;
    const got = await openOn(client, target);
    if ("port" in got) return got;
    failure ??= got.error;
  }
  const others = (await sw.clients.matchAll({ type: "window", includeUncontrolled: true })).filter((c) => !tried.has(c.id));
  const answers = others.map((c) => openOn(c, target));
  // The first page that has the file wins; the others are told to forget the request.
  const first = await firstOpened(answers);
  if (first !== null) {
    void Promise.all(answers).then((all) => {
      for (const a of all) if ("port" in a && a !== first) close(a.port);
    });
    return first;
  }
  for (const a of await Promise.all(answers)) if (!("port" in a)) failure ??= a.error;
  if (failure !== null) return { status: 503, message: `SwarmDrop cannot play this file yet: ${failure}.` };
  return { status: 404, message: "No open SwarmDrop page has this transfer. Open SwarmDrop (or the share link) in a tab, then play the file from there." };
}

function firstOpened(answers: readonly Promise<Opened | { error: string | null }>[]): Promise<Opened | null> {
  if (answers.length === 0) return Promise.resolve(null);
  return new Promise((resolve) => {
    let left = answers.length;
    for (const a of answers) {
      void a.then((got) => {
        if ("port" in got) resolve(got);
        else if (--left === 0) resolve(null);
      });
    }
  });
}

/** Asks one page for the file; error null when that page does not have it (or did not answer). */
function openOn(client: SwClient, target: StreamTarget): Promise<Opened | { error: string | null }> {
  const channel = new MessageChannel();
  const port = channel.port1;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      port.close();
      resolve({ error: null });
    }, openTimeoutMs);
    port.onmessage = (e: MessageEvent<PageToWorker>) => {
      clearTimeout(timer);
      port.onmessage = null;
      const m = e.data;
      if (m.type === "file") {
        resolve({ port, ownerId: client.id, file: m });
        return;
      }
      port.close();
      resolve({ error: m.type === "error" ? m.message : null });
    };
    const open: OpenMessage = { type: openType, infoHash: target.infoHash, fileIndex: target.fileIndex };
    try {
      client.postMessage(open, [channel.port2]);
    } catch {
      clearTimeout(timer);
      port.close();
      resolve({ error: null });
    }
  });
}

/**
 * The response body: one "pull" to the page per chunk the player wants. Ends
 * when the page says so; errors when the page reports an error or is closed;
 * a cancel (the player aborted, e.g. on seek) is passed on to the page.
 */
function pageStream(port: MessagePort, ownerId: string, signal: AbortSignal): ReadableStream<Uint8Array> {
  let waiting: { resolve(bytes: Uint8Array | null): void; reject(err: Error): void } | null = null;
  let done = false;
  const finish = (reason: Error | null) => {
    if (done) return;
    done = true;
    if (reason !== null) send(port, { type: "cancel" });
    port.close();
    const w = waiting;
    waiting = null;
    if (reason !== null) w?.reject(reason);
  };
  port.onmessage = (e: MessageEvent<PageToWorker>) => {
    const w = waiting;
    waiting = null;
    if (w === null) return;
    const m = e.data;
    if (m.type === "chunk") {
      w.resolve(new Uint8Array(m.bytes));
      return;
    }
    // The end, or an error: the page is done with this request either way.
    done = true;
    port.close();
    if (m.type === "end") w.resolve(null);
    else w.reject(new Error(m.type === "error" ? m.message : `unexpected message “${m.type}” from the page`));
  };
  signal.addEventListener("abort", () => finish(new Error("the player stopped the request")), { once: true });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) throw new Error("the page stopped sending this file");
      const next = await new Promise<Uint8Array | null>((resolve, reject) => {
        // Pieces can take long to arrive; meanwhile make sure the page supplying them is still open.
        const check = setInterval(() => {
          void sw.clients.get(ownerId).then((client) => {
            if (client === undefined) finish(new Error("the SwarmDrop page that was downloading this file was closed"));
          });
        }, ownerCheckMs);
        waiting = {
          resolve: (bytes) => {
            clearInterval(check);
            resolve(bytes);
          },
          reject: (err) => {
            clearInterval(check);
            reject(err);
          },
        };
        send(port, { type: "pull" });
      });
      if (next === null) {
        controller.close();
      } else {
        controller.enqueue(next);
      }
    },
    cancel() {
      finish(new Error("the player stopped reading"));
    },
  });
}
