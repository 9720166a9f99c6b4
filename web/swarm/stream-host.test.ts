// The page's side of the stream protocol over a real MessageChannel, with a
// fake file source; and why the Service Worker host says streaming is (not) available.
import { afterEach, describe, expect, it } from "vitest";
import { openType, type PageToWorker, type WorkerToPage } from "../sw/protocol.ts";
import { answerStreamRequest, ServiceWorkerStreamHost, type FileRangeSource } from "./stream-host.ts";

class NotHere extends Error {
  override name = "TransferNotFoundError";
}

/** A 10-byte file read in 4-byte chunks; `gate` holds the second chunk until opened. */
function source(options: { gate?: Promise<void>; failAt?: number } = {}): FileRangeSource & { aborted: AbortSignal[]; reads: [number, number][] } {
  const data = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
  const aborted: AbortSignal[] = [];
  const reads: [number, number][] = [];
  return {
    aborted,
    reads,
    streamFile(infoHash, fileIndex) {
      if (infoHash !== "a".repeat(40)) throw new NotHere("no transfer here");
      if (fileIndex !== 0) throw new Error("“x” is still fetching its file list from peers");
      return { lengthBytes: 10, name: "tone.wav", mime: "audio/wav" };
    },
    async *readFileRange(_infoHash, _fileIndex, start, end, signal) {
      reads.push([start, end]);
      signal.addEventListener("abort", () => aborted.push(signal));
      for (let at = start; at < end; at += 4) {
        if (at > start && options.gate !== undefined) await options.gate;
        if (options.failAt !== undefined && at >= options.failAt) throw new Error("reading piece 1 from browser storage failed");
        yield data.slice(at, Math.min(end, at + 4));
      }
    },
  };
}

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** The worker's end: send messages, receive answers in order. */
function worker(infoHash: string, fileIndex: number, src: FileRangeSource, hooks: { errors?: string[] } = {}) {
  const channel = new MessageChannel();
  ports.push(channel.port1);
  const inbox: PageToWorker[] = [];
  const waiting: ((m: PageToWorker) => void)[] = [];
  channel.port1.onmessage = (e: MessageEvent<PageToWorker>) => {
    const w = waiting.shift();
    if (w !== undefined) w(e.data);
    else inbox.push(e.data);
  };
  const done = answerStreamRequest({ type: openType, infoHash, fileIndex }, channel.port2, src, { onError: (m) => hooks.errors?.push(m) });
  return {
    done,
    send: (m: WorkerToPage) => channel.port1.postMessage(m),
    next: () => new Promise<PageToWorker>((resolve) => (inbox.length > 0 ? resolve(inbox.shift()!) : waiting.push(resolve))),
  };
}

const bytesOf = (m: PageToWorker) => (m.type === "chunk" ? [...new Uint8Array(m.bytes)] : m.type);

describe("answerStreamRequest", () => {
  it("tells the file's size and type, then answers one chunk per pull, then the end", async () => {
    const src = source();
    const w = worker("a".repeat(40), 0, src);
    expect(await w.next()).toEqual({ type: "file", lengthBytes: 10, name: "tone.wav", mime: "audio/wav" });
    w.send({ type: "read", start: 2, end: 9 });
    w.send({ type: "pull" });
    expect(bytesOf(await w.next())).toEqual([3, 4, 5, 6]);
    w.send({ type: "pull" });
    expect(bytesOf(await w.next())).toEqual([7, 8, 9]);
    w.send({ type: "pull" });
    expect(await w.next()).toEqual({ type: "end" });
    await w.done;
    expect(src.reads).toEqual([[2, 9]]);
  });

  it("says “missing” when this page has no such transfer (another tab may), and gives other reasons as errors", async () => {
    const elsewhere = worker("b".repeat(40), 0, source());
    expect(await elsewhere.next()).toEqual({ type: "missing", message: "no transfer here" });
    await elsewhere.done;
    const notYet = worker("a".repeat(40), 1, source());
    expect(await notYet.next()).toEqual({ type: "error", message: "“x” is still fetching its file list from peers" });
    await notYet.done;
  });

  it("a cancel from the worker (the player went away) aborts the read waiting for a piece, without an error to show", async () => {
    const src = source({ gate: new Promise(() => undefined) });
    const errors: string[] = [];
    const w = worker("a".repeat(40), 0, src, { errors });
    await w.next();
    w.send({ type: "read", start: 0, end: 10 });
    w.send({ type: "pull" });
    expect(bytesOf(await w.next())).toEqual([1, 2, 3, 4]);
    w.send({ type: "pull" }); // waits at the gate: a piece not downloaded yet
    w.send({ type: "cancel" });
    await w.done;
    expect(src.aborted).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it("a failed read is sent to the worker and reported once, in words", async () => {
    const errors: string[] = [];
    const w = worker("a".repeat(40), 0, source({ failAt: 4 }), { errors });
    await w.next();
    w.send({ type: "read", start: 0, end: 10 });
    w.send({ type: "pull" });
    await w.next();
    w.send({ type: "pull" });
    expect(await w.next()).toEqual({ type: "error", message: "reading piece 1 from browser storage failed" });
    await w.done;
    expect(errors).toEqual(["reading piece 1 from browser storage failed"]);
  });
});

/** A ServiceWorkerContainer with only what the host touches. */
function container(options: { register?: () => Promise<unknown>; controlled?: boolean; claims?: boolean; stubbed?: boolean }): ServiceWorkerContainer {
  const listeners = new Set<() => void>();
  let controller: object | null = options.controlled === true ? {} : null;
  return {
    get controller() {
      return controller;
    },
    register: async () => {
      await (options.register ?? (() => Promise.resolve({})))();
      if (options.claims === true) {
        controller = {};
        queueMicrotask(() => listeners.forEach((l) => l()));
      }
      return options.stubbed === true ? undefined : {};
    },
    addEventListener: (type: string, l: () => void) => {
      if (type === "controllerchange") listeners.add(l);
    },
    removeEventListener: (_type: string, l: () => void) => listeners.delete(l),
    startMessages: () => undefined,
  } as unknown as ServiceWorkerContainer;
}

describe("ServiceWorkerStreamHost.ready", () => {
  it("is null once the worker controls the page, at once or when it claims the page", async () => {
    expect(await new ServiceWorkerStreamHost({ container: container({ controlled: true }), isSecureContext: true }).ready).toBeNull();
    expect(await new ServiceWorkerStreamHost({ container: container({ claims: true }), isSecureContext: true }).ready).toBeNull();
  });

  it("gives the reason files play only once complete", async () => {
    expect(await new ServiceWorkerStreamHost({ container: container({}), isSecureContext: false }).ready).toMatch(/not a secure context/);
    expect(await new ServiceWorkerStreamHost({ container: null, isSecureContext: true }).ready).toMatch(/no Service Workers/);
    const refused = container({ register: () => Promise.reject(new DOMException("The operation is insecure.", "SecurityError")) });
    expect(await new ServiceWorkerStreamHost({ container: refused, isSecureContext: true }).ready).toMatch(/could not be installed: The operation is insecure/);
    // register() stubbed out to resolve with nothing, as automation tools that block workers do.
    const stubbed = container({ stubbed: true });
    expect(await new ServiceWorkerStreamHost({ container: stubbed, isSecureContext: true }).ready).toMatch(/blocks Service Workers/);
    const bypassed = new ServiceWorkerStreamHost({ container: container({}), isSecureContext: true, controlTimeoutMs: 10 });
    expect(await bypassed.ready).toMatch(/did not take charge of this page/);
  });
});
