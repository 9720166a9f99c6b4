// The tracker process: HTTP and WebSocket on one port. Wires sockets to the
// socket-free Relay: origin check, per-IP and total connection caps, message
// size limit, per-connection token-bucket rate limit, abuse counter, ping/pong
// liveness, slow-consumer cut-off, periodic sweeping and stats.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { seededRandom } from "../core/random.ts";
import { defaultTrackerParseLimits, encodeTrackerMessage } from "../core/tracker-protocol.ts";
import { defaultConfig, type TrackerConfig } from "./config.ts";
import { encodeTextFrames } from "./frames.ts";
import { createHttpHandler, type TrackerStats } from "./http.ts";
import { MemoryStore } from "./memory-store.ts";
import { Relay, type Connection, type Delivery, type RemoteRoute } from "./relay.ts";
import { isPromise, type SwarmStore } from "./store.ts";

export interface RunningTracker {
  port: number;
  processId: string;
  /** Current figures, as served by /stats.json. */
  stats(): Promise<TrackerStats>;
  close(): Promise<void>;
}

/** What a shared store brings: the store, and a bus carrying deliveries between processes. */
export interface SharedBackend {
  store: SwarmStore;
  route: RemoteRoute;
  close(): Promise<void>;
}

interface SocketState {
  conn: Connection;
  ip: string;
  alive: boolean;
  tokens: number;
  refilledAtMs: number;
  bad: number;
  lastRateWarningMs: number;
}

const clock = { nowMs: () => Date.now() };

/** The client address: the socket's peer, or with TRUST_PROXY the last X-Forwarded-For hop (added by your proxy). */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = req.headers["x-forwarded-for"];
  if (trustProxy && typeof forwarded === "string" && forwarded.trim() !== "") {
    const hops = forwarded.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const last = hops.at(-1);
    if (last) return last.replace(/^::ffff:/, "");
  }
  return (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

/**
 * Starts the tracker (HTTP + WebSocket on one port). Missing settings take the
 * defaults of `--help` (environment variables are read only by main.ts).
 */
export async function startTracker(settings: Partial<TrackerConfig> = {}): Promise<RunningTracker> {
  const config: TrackerConfig = defaultConfig(settings);
  const processId = randomBytes(6).toString("hex");
  const random = seededRandom(randomBytes(4).readUInt32LE(0));
  const log = (line: string): void => {
    if (!config.quiet) console.warn(`[tracker ${processId}] ${line}`);
  };

  let backend: SharedBackend | null = null;
  let relay: Relay | null = null;
  if (config.redisUrl) {
    const { createRedisBackend } = await import("./redis-store.ts");
    backend = await createRedisBackend({
      url: config.redisUrl,
      processId,
      peerTtlMs: config.peerTtlMs,
      maxPeersPerSwarm: config.maxPeersPerSwarm,
      processTtlMs: config.processTtlMs,
      onDelivery: (delivery: Delivery) => relay?.deliver(delivery),
      onError: (err) => log(`redis: ${err.message}`),
    });
  }
  const store: SwarmStore = backend?.store ?? new MemoryStore({ peerTtlMs: config.peerTtlMs, maxPeersPerSwarm: config.maxPeersPerSwarm });
  relay = new Relay(
    store,
    {
      announceIntervalMs: config.announceIntervalMs,
      offerTtlMs: config.offerTtlMs,
      maxPendingOffersPerConnection: 100,
      maxSwarmsPerConnection: config.maxSwarmsPerConnection,
      maxQueuedMessagesPerConnection: 32,
      parseLimits: { ...defaultTrackerParseLimits, maxMessageChars: config.maxMessageBytes },
    },
    processId,
    clock,
    random,
    backend?.route ?? null,
  );
  const theRelay = relay;

  const sockets = new Map<WebSocket, SocketState>();
  const perIp = new Map<string, number>();
  const extra = { rateLimited: 0, closedForAbuse: 0 };
  const startedAtMs = Date.now();
  // messages/s over the last 10 s, from one sample per second.
  const samples: number[] = [];

  const stats = async (): Promise<TrackerStats> => {
    const s = await store.stats();
    const c = theRelay.counters;
    const oldest = samples[0] ?? c.messages;
    return {
      ...s,
      connections: sockets.size,
      messagesPerS: samples.length > 1 ? Math.round(((c.messages - oldest) / (samples.length - 1)) * 10) / 10 : 0,
      messages: c.messages,
      announces: c.announces,
      answers: c.answers,
      scrapes: c.scrapes,
      offersRelayed: c.offersRelayed,
      answersRelayed: c.answersRelayed,
      answersRefused: c.answersRefused,
      badMessages: c.badMessages,
      rateLimited: extra.rateLimited,
      closedForAbuse: extra.closedForAbuse,
      storeErrors: c.storeErrors,
      framesPerWrite: writeStats.writes > 0 ? Math.round((writeStats.frames / writeStats.writes) * 100) / 100 : 0,
      rssBytes: process.memoryUsage.rss(),
      uptimeS: Math.round((Date.now() - startedAtMs) / 1000),
      processId,
      store: backend ? "redis" : "memory",
    };
  };

  const server = createServer(createHttpHandler({ distDir: config.distDir, iceServers: config.iceServers, stats }));
  server.on("clientError", (_err, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  // ws closes a socket that sends a frame above maxPayload (1009); below that we answer with a failure reason.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes * 4, perMessageDeflate: false, clientTracking: false });

  server.on("upgrade", (req, socket, head) => {
    socket.on("error", () => socket.destroy());
    const origin = req.headers.origin;
    if (config.allowedOrigins && typeof origin === "string" && !config.allowedOrigins.includes(origin)) {
      refuseUpgrade(socket, 403, "Forbidden: origin not allowed");
      return;
    }
    if (sockets.size >= config.maxConnections) {
      refuseUpgrade(socket, 503, "Service Unavailable: too many connections");
      return;
    }
    const ip = clientAddress(req, config.trustProxy);
    if (config.maxConnectionsPerIp > 0 && (perIp.get(ip) ?? 0) >= config.maxConnectionsPerIp) {
      refuseUpgrade(socket, 429, "Too Many Requests: too many connections from this address");
      return;
    }
    // Upgrades are accepted on any path, as the reference tracker does; the app uses /announce.
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, ip, socket));
  });

  // Write coalescing (see frames.ts): messages for one socket within one
  // event-loop turn are framed into one buffer and written once, after the turn.
  interface Outbox {
    ws: WebSocket;
    socket: Duplex;
    texts: string[];
  }
  const pendingOutboxes: Outbox[] = [];
  let flushScheduled = false;
  const writeStats = { frames: 0, writes: 0 };
  const flushBox = (box: Outbox): void => {
    const texts = box.texts;
    box.texts = [];
    // ws may have started closing meanwhile: no data frames after a close frame.
    if (texts.length === 0 || box.ws.readyState !== box.ws.OPEN || box.socket.destroyed) return;
    writeStats.frames += texts.length;
    writeStats.writes++;
    box.socket.write(encodeTextFrames(texts));
  };
  const flush = (): void => {
    flushScheduled = false;
    for (const box of pendingOutboxes) flushBox(box);
    pendingOutboxes.length = 0;
  };

  const onConnection = (ws: WebSocket, ip: string, socket: Duplex): void => {
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    const box: Outbox = { ws, socket, texts: [] };
    const send = (text: string): void => {
      if (ws.readyState !== ws.OPEN) return;
      if (socket.writableLength > config.maxSendBufferBytes) {
        // A client that does not read cannot make the tracker hold its messages forever.
        log(`closing slow connection from ${ip}: ${socket.writableLength} bytes unsent`);
        ws.terminate();
        return;
      }
      if (box.texts.length === 0) pendingOutboxes.push(box);
      box.texts.push(text);
      if (!flushScheduled) {
        flushScheduled = true;
        setImmediate(flush);
      }
    };
    const state: SocketState = { conn: theRelay.open(send), ip, alive: true, tokens: config.rateBurst, refilledAtMs: Date.now(), bad: 0, lastRateWarningMs: 0 };
    sockets.set(ws, state);

    const abuse = (): void => {
      state.bad++;
      if (state.bad >= config.maxBadMessages && ws.readyState === ws.OPEN) {
        extra.closedForAbuse++;
        log(`closing connection from ${ip} after ${state.bad} bad messages`);
        flushBox(box); // the failure reasons go out before the close frame
        ws.close(1008, "too many bad messages");
        // A client that ignores the close handshake is cut off.
        setTimeout(() => ws.terminate(), 2000).unref();
      }
    };

    // Text frames are the protocol; a binary frame is read as UTF-8 text too, as the reference tracker does.
    ws.on("message", (data: RawData) => {
      if (state.conn.closed) return;
      if (config.rateLimitPerS > 0) {
        const now = Date.now();
        state.tokens = Math.min(config.rateBurst, state.tokens + ((now - state.refilledAtMs) * config.rateLimitPerS) / 1000);
        state.refilledAtMs = now;
        if (state.tokens < 1) {
          extra.rateLimited++;
          // One warning per second at most: a flood must not make us flood back.
          if (now - state.lastRateWarningMs >= 1000) {
            state.lastRateWarningMs = now;
            send(encodeTrackerMessage({ kind: "failure", reason: `rate limit exceeded: at most ${config.rateLimitPerS} messages per second` }));
          }
          abuse();
          return;
        }
        state.tokens -= 1;
      }
      const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
      if (size > config.maxMessageBytes) {
        theRelay.counters.messages++;
        theRelay.counters.badMessages++;
        send(encodeTrackerMessage({ kind: "failure", reason: `message of ${size} bytes exceeds the ${config.maxMessageBytes}-byte limit` }));
        abuse();
        return;
      }
      const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.isBuffer(data) ? data.toString("utf8") : Buffer.from(data).toString("utf8");
      if (theRelay.handleText(state.conn, text) === "bad") abuse();
    });
    ws.on("pong", () => {
      state.alive = true;
    });
    ws.on("error", (err) => {
      log(`socket error from ${ip}: ${err.message}`);
    });
    ws.on("close", () => {
      sockets.delete(ws);
      const n = (perIp.get(ip) ?? 1) - 1;
      if (n <= 0) perIp.delete(ip);
      else perIp.set(ip, n);
      const closing = theRelay.close(state.conn);
      if (isPromise(closing)) closing.catch((err: unknown) => log(`leaving swarms failed: ${String(err)}`));
    });
  };

  // Ping/pong drops dead sockets: one missed pong and the socket is terminated.
  const pingTimer = setInterval(() => {
    for (const [ws, state] of sockets) {
      if (!state.alive) {
        ws.terminate();
        continue;
      }
      state.alive = false;
      ws.ping();
    }
  }, config.pingIntervalMs);
  pingTimer.unref();

  const sweepEveryS = Math.max(1, Math.min(10, Math.floor(config.offerTtlMs / 2000)));
  let tick = 0;
  const tickTimer = setInterval(() => {
    samples.push(theRelay.counters.messages);
    if (samples.length > 11) samples.shift();
    if (++tick % sweepEveryS === 0) {
      try {
        const swept = theRelay.sweep();
        if (isPromise(swept)) swept.catch((err: unknown) => log(`sweep failed: ${String(err)}`));
      } catch (err) {
        log(`sweep failed: ${String(err)}`);
      }
    }
  }, 1000);
  tickTimer.unref();

  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolvePromise();
    });
  });
  server.on("error", (err) => log(`server error: ${err.message}`));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : config.port;

  let closed: Promise<void> | null = null;
  return {
    port,
    processId,
    stats,
    close: () => {
      closed ??= (async () => {
        clearInterval(pingTimer);
        clearInterval(tickTimer);
        for (const ws of sockets.keys()) ws.terminate();
        await new Promise<void>((r) => wss.close(() => r()));
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
        for (const state of sockets.values()) await theRelay.close(state.conn);
        if (backend) await backend.close();
        else await store.close();
      })();
      return closed;
    },
  };
}
