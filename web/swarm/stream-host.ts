// The page's side of playing while downloading: registers the stream Service
// Worker (/sw.js, web/sw/stream-worker.ts) and answers its byte requests for
// the transfers this page owns (protocol: web/sw/protocol.ts). Bytes come from
// a FileRangeSource (the manager), which reads verified pieces from storage
// and, for missing ones, moves the session's playhead there and waits.
import { isOpenMessage, keepAliveType, type OpenMessage, type PageToWorker, type WorkerToPage } from "../sw/protocol.ts";

/** What the stream host reads; SwarmTransferManager implements it. */
export interface FileRangeSource {
  /**
   * Size, name and media type of one file. Throws TransferNotFoundError when this
   * page has no such transfer (another tab may), anything else for a reason to show.
   */
  streamFile(infoHash: string, fileIndex: number): { readonly lengthBytes: number; readonly name: string; readonly mime: string };
  /**
   * Bytes [start, end) of the file in order, in chunks of at most a piece, waiting
   * for missing pieces (the playhead follows the newest reader). Stops with the
   * signal's reason when it aborts.
   */
  readFileRange(infoHash: string, fileIndex: number, start: number, end: number, signal: AbortSignal): AsyncGenerator<Uint8Array>;
}

/** The manager's view of streaming: whether /stream/ URLs are answered on this page. */
export interface StreamingHost {
  /** Resolves with null once players can use /stream/ URLs, or with the reason they cannot (then files play once complete). */
  readonly ready: Promise<string | null>;
}

export interface StreamHostHooks {
  /** A stream failed for a reason a person should read (not a player's own cancel). */
  onError?(message: string): void;
  /** The number of open streams changed. */
  onActiveChange?(active: number): void;
}

/** The TransferNotFoundError of manager.ts, told by name (no import cycle). */
function isNotHere(err: unknown): boolean {
  return err instanceof Error && err.name === "TransferNotFoundError";
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.slice().buffer;
}

/**
 * Answers one request of the worker on its port: the file's size, then one
 * chunk per pull. Returns when the request is over (ended, failed or cancelled).
 */
export function answerStreamRequest(open: OpenMessage, port: MessagePort, source: FileRangeSource, hooks: StreamHostHooks = {}): Promise<void> {
  const post = (m: PageToWorker, transfer: Transferable[] = []) => {
    try {
      port.postMessage(m, transfer);
    } catch {
      // The worker side is gone; nothing to tell.
    }
  };
  let file;
  try {
    file = source.streamFile(open.infoHash, open.fileIndex);
  } catch (err) {
    post(isNotHere(err) ? { type: "missing", message: messageOf(err) } : { type: "error", message: messageOf(err) });
    port.close();
    return Promise.resolve();
  }
  post({ type: "file", lengthBytes: file.lengthBytes, name: file.name, mime: file.mime });
  const controller = new AbortController();
  let chunks: AsyncGenerator<Uint8Array> | null = null;
  let finished = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => {
    resolveDone = resolve;
  });
  const finish = () => {
    if (finished) return;
    finished = true;
    controller.abort(new DOMException("The player stopped the request", "AbortError"));
    if (chunks !== null) void chunks.return(undefined).catch(() => undefined);
    port.onmessage = null;
    port.close();
    resolveDone();
  };
  const pull = async () => {
    if (chunks === null) {
      post({ type: "error", message: "bytes were asked for before a range" });
      finish();
      return;
    }
    try {
      const next = await chunks.next();
      if (finished) return;
      if (next.done === true) {
        post({ type: "end" });
        finish();
        return;
      }
      const buffer = ownBuffer(next.value);
      post({ type: "chunk", bytes: buffer }, [buffer]);
    } catch (err) {
      if (finished || controller.signal.aborted) return;
      const message = messageOf(err);
      post({ type: "error", message });
      hooks.onError?.(message);
      finish();
    }
  };
  port.onmessage = (e: MessageEvent<WorkerToPage>) => {
    const m = e.data;
    switch (m.type) {
      case "read":
        if (chunks !== null) return;
        try {
          chunks = source.readFileRange(open.infoHash, open.fileIndex, m.start, m.end, controller.signal);
        } catch (err) {
          post({ type: "error", message: messageOf(err) });
          finish();
        }
        return;
      case "pull":
        void pull();
        return;
      case "cancel":
        finish();
        return;
    }
  };
  return done;
}

export interface ServiceWorkerEnv {
  /** navigator.serviceWorker, or null where there is none. */
  readonly container: ServiceWorkerContainer | null;
  readonly isSecureContext: boolean;
  /** The worker's script, at the site root so its scope is the whole origin. */
  readonly scriptUrl?: string;
  /** How long to wait for the worker to take control of this page. */
  readonly controlTimeoutMs?: number;
  /** How often a page with open streams pings the worker so it is not stopped as idle. */
  readonly keepAliveMs?: number;
}

/**
 * Registers the worker and, once attach()ed to a source, answers its requests.
 * `ready` says whether players may use /stream/ URLs on this page.
 */
export class ServiceWorkerStreamHost implements StreamingHost {
  readonly ready: Promise<string | null>;
  readonly #env: ServiceWorkerEnv;
  #active = 0;
  #keepAlive: ReturnType<typeof setInterval> | null = null;

  constructor(env: ServiceWorkerEnv) {
    this.#env = env;
    this.ready = this.#register();
    // An unexpected failure is a reason too, never an unhandled rejection.
    this.ready = this.ready.catch((err: unknown) => `the stream helper failed: ${messageOf(err)}`);
  }

  async #register(): Promise<string | null> {
    const { container } = this.#env;
    if (!this.#env.isSecureContext) return "this page is not a secure context (it needs https:// or localhost), so a Service Worker cannot stream files to the player";
    if (container === null) return "this browser offers no Service Workers here (private browsing may turn them off)";
    let registration: ServiceWorkerRegistration | undefined;
    try {
      registration = await container.register(this.#env.scriptUrl ?? "/sw.js", { scope: "/", updateViaCache: "none" });
    } catch (err) {
      return `the stream helper (a Service Worker) could not be installed: ${messageOf(err)}`;
    }
    // Some environments (automation, policies) stub register() out and return nothing.
    if (typeof registration !== "object" || registration === null) return "this browser blocks Service Workers on this page";
    if (container.controller !== null) return null;
    const timeoutMs = this.#env.controlTimeoutMs ?? 15_000;
    const controlled = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        container.removeEventListener("controllerchange", changed);
        resolve(container.controller !== null);
      }, timeoutMs);
      const changed = () => {
        clearTimeout(timer);
        container.removeEventListener("controllerchange", changed);
        resolve(true);
      };
      container.addEventListener("controllerchange", changed);
    });
    return controlled ? null : "the stream helper (a Service Worker) did not take charge of this page (a hard reload bypasses it): reload the page normally";
  }

  /** Starts answering the worker's requests from `source`. */
  attach(source: FileRangeSource, hooks: StreamHostHooks = {}): void {
    const { container } = this.#env;
    if (container === null) return;
    container.addEventListener("message", (event: MessageEvent<unknown>) => {
      const port = event.ports[0];
      if (!isOpenMessage(event.data) || port === undefined) return;
      this.#opened(+1, hooks);
      void answerStreamRequest(event.data, port, source, hooks).finally(() => this.#opened(-1, hooks));
    });
    container.startMessages();
  }

  #opened(delta: number, hooks: StreamHostHooks): void {
    this.#active += delta;
    hooks.onActiveChange?.(this.#active);
    const container = this.#env.container;
    if (this.#active > 0 && this.#keepAlive === null && container !== null) {
      this.#keepAlive = setInterval(() => container.controller?.postMessage({ type: keepAliveType }), this.#env.keepAliveMs ?? 10_000);
    } else if (this.#active === 0 && this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
  }
}

/** Without a worker (tests, or a page that does not stream): players get whole files. */
export const noStreaming: StreamingHost = { ready: Promise.resolve("this page has no stream helper") };
