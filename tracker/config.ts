// Tracker configuration from command-line flags and environment variables
// (flags win). One table drives parsing, defaults and `--help`.

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface TrackerConfig {
  port: number;
  host: string;
  /** Told to clients as `interval`; they re-announce this often. */
  announceIntervalMs: number;
  /** A peer that has not announced for this long is dropped (must exceed the interval). */
  peerTtlMs: number;
  /** A relayed offer waits this long for its answer. */
  offerTtlMs: number;
  /** Largest WebSocket message handled; bigger ones get a failure reason (4x this closes the socket). */
  maxMessageBytes: number;
  /** Sustained messages per second per connection (token bucket); 0 disables. */
  rateLimitPerS: number;
  /** Burst size of the per-connection token bucket. */
  rateBurst: number;
  /** Bad or rate-limited messages a connection may send before it is disconnected. */
  maxBadMessages: number;
  /** Browser origins allowed to open a WebSocket; null allows any. */
  allowedOrigins: string[] | null;
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy you run). */
  trustProxy: boolean;
  /** ICE servers handed to the app by /config.json. */
  iceServers: IceServer[];
  /** With a Redis URL, several tracker processes share swarms. */
  redisUrl: string | null;
  /** With Redis: this process's liveness key lapses this long after its last refresh; then its peers may be claimed through other processes. */
  processTtlMs: number;
  /** Built web app to serve; null serves none. */
  distDir: string | null;
  maxPeersPerSwarm: number;
  maxSwarmsPerConnection: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  pingIntervalMs: number;
  /** Messages queued to a slow connection beyond this many bytes close it. */
  maxSendBufferBytes: number;
  /** Print one line per connection closed for abuse, and errors. */
  quiet: boolean;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Kind = "int" | "seconds" | "string" | "bool" | "origins" | "ice" | "url" | "path";

interface Option {
  flag: string;
  env: string;
  kind: Kind;
  key: keyof TrackerConfig;
  def: string;
  help: string;
  min?: number;
}

const OPTIONS: Option[] = [
  { flag: "port", env: "PORT", kind: "int", key: "port", def: "8000", min: 0, help: "TCP port for HTTP and WebSocket (0 picks a free one)" },
  { flag: "host", env: "HOST", kind: "string", key: "host", def: "0.0.0.0", help: "address to listen on (127.0.0.1 for local only, :: for IPv6)" },
  { flag: "announce-interval", env: "ANNOUNCE_INTERVAL", kind: "seconds", key: "announceIntervalMs", def: "120", min: 1, help: "seconds between a client's announces (sent as `interval`)" },
  { flag: "peer-ttl", env: "PEER_TTL", kind: "seconds", key: "peerTtlMs", def: "180", min: 1, help: "seconds after its last announce that a silent peer is dropped" },
  { flag: "offer-ttl", env: "OFFER_TTL", kind: "seconds", key: "offerTtlMs", def: "60", min: 1, help: "seconds a relayed offer waits for its answer" },
  { flag: "max-message-bytes", env: "MAX_MESSAGE_BYTES", kind: "int", key: "maxMessageBytes", def: "65536", min: 1024, help: "largest WebSocket message handled" },
  { flag: "rate-limit", env: "RATE_LIMIT", kind: "int", key: "rateLimitPerS", def: "20", min: 0, help: "messages per second per connection (0: unlimited)" },
  { flag: "rate-burst", env: "RATE_BURST", kind: "int", key: "rateBurst", def: "60", min: 1, help: "burst of messages per connection above the rate" },
  { flag: "max-bad-messages", env: "MAX_BAD_MESSAGES", kind: "int", key: "maxBadMessages", def: "20", min: 1, help: "bad or rate-limited messages before a connection is closed" },
  { flag: "allowed-origins", env: "ALLOWED_ORIGINS", kind: "origins", key: "allowedOrigins", def: "*", help: "comma-separated browser origins allowed to connect, or * for any" },
  { flag: "trust-proxy", env: "TRUST_PROXY", kind: "bool", key: "trustProxy", def: "false", help: "use X-Forwarded-For for the client address (behind your own proxy only)" },
  { flag: "ice-servers", env: "ICE_SERVERS", kind: "ice", key: "iceServers", def: "[]", help: 'JSON array of RTCIceServer for /config.json, e.g. [{"urls":"stun:stun.example.org:3478"}]' },
  { flag: "redis-url", env: "REDIS_URL", kind: "url", key: "redisUrl", def: "", help: "redis://host:port to share swarms between tracker processes" },
  { flag: "process-ttl", env: "PROCESS_TTL", kind: "seconds", key: "processTtlMs", def: "5", min: 0.5, help: "with Redis: seconds a killed process still holds its peers' ids (liveness key TTL, refreshed every third)" },
  { flag: "dist-dir", env: "DIST_DIR", kind: "path", key: "distDir", def: "dist", help: "built web app to serve (empty: serve none)" },
  { flag: "max-peers-per-swarm", env: "MAX_PEERS_PER_SWARM", kind: "int", key: "maxPeersPerSwarm", def: "10000", min: 1, help: "peers one swarm may hold" },
  { flag: "max-swarms-per-connection", env: "MAX_SWARMS_PER_CONNECTION", kind: "int", key: "maxSwarmsPerConnection", def: "100", min: 1, help: "swarms one connection may join" },
  { flag: "max-connections", env: "MAX_CONNECTIONS", kind: "int", key: "maxConnections", def: "100000", min: 1, help: "WebSocket connections held at once" },
  { flag: "max-connections-per-ip", env: "MAX_CONNECTIONS_PER_IP", kind: "int", key: "maxConnectionsPerIp", def: "0", min: 0, help: "WebSocket connections per client address (0: unlimited)" },
  { flag: "ping-interval", env: "PING_INTERVAL", kind: "seconds", key: "pingIntervalMs", def: "30", min: 1, help: "seconds between pings; a socket that missed the last pong is dropped" },
  { flag: "max-send-buffer-bytes", env: "MAX_SEND_BUFFER_BYTES", kind: "int", key: "maxSendBufferBytes", def: "1048576", min: 1024, help: "bytes queued to a slow client before it is dropped" },
  { flag: "quiet", env: "QUIET", kind: "bool", key: "quiet", def: "false", help: "log nothing but the listening line and fatal errors" },
];

export function helpText(): string {
  const lines = [
    "SwarmDrop tracker: WebTorrent-compatible WebSocket tracker that also serves the web app.",
    "",
    "Usage: tsx tracker/main.ts [--flag value | --flag=value]...   (flags override environment variables)",
    "",
  ];
  for (const o of OPTIONS) {
    lines.push(`  --${o.flag.padEnd(26)} ${o.env.padEnd(26)} ${o.help} (default: ${o.def === "" ? "none" : o.def})`);
  }
  lines.push("  --help                      print this and exit", "");
  lines.push("Public use wants STUN/TURN in ICE_SERVERS: without them only peers on one LAN (or loopback) can connect.");
  return lines.join("\n");
}

function parseValue(o: Option, raw: string, source: string): unknown {
  const bad = (why: string): never => {
    throw new ConfigError(`${source}: ${why} (got ${JSON.stringify(raw.slice(0, 200))})`);
  };
  switch (o.kind) {
    case "int":
    case "seconds": {
      if (!/^\d+(\.\d+)?$/.test(raw.trim())) bad("expected a non-negative number");
      const n = Number(raw);
      if (o.kind === "int" && !Number.isInteger(n)) bad("expected an integer");
      if (o.min !== undefined && n < o.min) bad(`must be at least ${o.min}`);
      return o.kind === "seconds" ? Math.round(n * 1000) : n;
    }
    case "string":
      if (raw.trim() === "") bad("must not be empty");
      return raw.trim();
    case "bool": {
      const v = raw.trim().toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off", ""].includes(v)) return false;
      return bad("expected true or false");
    }
    case "origins": {
      const v = raw.trim();
      if (v === "*" || v === "") return null;
      const list = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const origin of list) {
        let url: URL;
        try {
          url = new URL(origin);
        } catch {
          return bad(`${origin} is not an origin like https://example.org`);
        }
        if (url.origin !== origin.replace(/\/$/, "")) bad(`${origin} is not an origin like https://example.org`);
      }
      return list.map((s) => s.replace(/\/$/, ""));
    }
    case "ice":
      return parseIceServers(raw, source);
    case "url": {
      const v = raw.trim();
      if (v === "") return null;
      try {
        const url = new URL(v);
        if (url.protocol !== "redis:" && url.protocol !== "rediss:") bad("expected a redis:// or rediss:// URL");
      } catch (err) {
        if (err instanceof ConfigError) throw err;
        bad("expected a redis:// URL");
      }
      return v;
    }
    case "path":
      return raw.trim() === "" ? null : raw.trim();
    default: {
      const never: never = o.kind;
      throw new ConfigError(`unknown option kind ${String(never)}`);
    }
  }
}

/** Validates a JSON array of RTCIceServer-like objects (urls: stun:, stuns:, turn:, turns:). */
export function parseIceServers(raw: string, source = "ICE_SERVERS"): IceServer[] {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${source}: not valid JSON; expected an array like [{"urls":"stun:stun.example.org:3478"}]`);
  }
  if (!Array.isArray(value)) throw new ConfigError(`${source}: expected a JSON array of ICE servers`);
  return value.map((entry: unknown, i): IceServer => {
    if (typeof entry !== "object" || entry === null) throw new ConfigError(`${source}[${i}]: expected an object with urls`);
    const e = entry as Record<string, unknown>;
    const urls = typeof e.urls === "string" ? [e.urls] : Array.isArray(e.urls) ? (e.urls as unknown[]) : null;
    if (!urls || urls.length === 0) throw new ConfigError(`${source}[${i}].urls: expected a URL or a list of URLs`);
    for (const u of urls) {
      if (typeof u !== "string" || !/^(stun|stuns|turn|turns):/.test(u)) throw new ConfigError(`${source}[${i}].urls: ${JSON.stringify(u)} is not a stun:, stuns:, turn: or turns: URL`);
    }
    const out: IceServer = { urls: typeof e.urls === "string" ? e.urls : (urls as string[]) };
    if (e.username !== undefined) {
      if (typeof e.username !== "string") throw new ConfigError(`${source}[${i}].username: expected a string`);
      out.username = e.username;
    }
    if (e.credential !== undefined) {
      if (typeof e.credential !== "string") throw new ConfigError(`${source}[${i}].credential: expected a string`);
      out.credential = e.credential;
    }
    return out;
  });
}

export type ConfigResult = { kind: "help"; text: string } | { kind: "config"; config: TrackerConfig };

/** Reads flags (`--port 8000`, `--port=8000`, `--trust-proxy`) over environment variables over defaults. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const byFlag = new Map(OPTIONS.map((o) => [o.flag, o]));
  const fromFlags = new Map<Option, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return { kind: "help", text: helpText() };
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}; see --help`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const o = byFlag.get(name);
    if (!o) throw new ConfigError(`unknown flag --${name}; see --help`);
    if (eq >= 0) fromFlags.set(o, arg.slice(eq + 1));
    else if (o.kind === "bool" && (argv[i + 1] === undefined || argv[i + 1]!.startsWith("--"))) fromFlags.set(o, "true");
    else {
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(`--${name} needs a value; see --help`);
      fromFlags.set(o, next);
    }
  }
  const config: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const flag = fromFlags.get(o);
    const envValue = env[o.env];
    const [raw, source] = flag !== undefined ? [flag, `--${o.flag}`] : envValue !== undefined ? [envValue, o.env] : [o.def, `default of ${o.env}`];
    config[o.key] = parseValue(o, raw, source);
  }
  const c = config as unknown as TrackerConfig;
  if (c.peerTtlMs <= c.announceIntervalMs) {
    throw new ConfigError(`PEER_TTL (${c.peerTtlMs / 1000} s) must exceed ANNOUNCE_INTERVAL (${c.announceIntervalMs / 1000} s), or peers expire between announces`);
  }
  return { kind: "config", config: c };
}

/** Defaults with overrides, for tests, benchmarks and embedding. */
export function defaultConfig(overrides: Partial<TrackerConfig> = {}): TrackerConfig {
  const result = loadConfig([], {});
  if (result.kind !== "config") throw new ConfigError("defaults did not parse");
  return { ...result.config, ...overrides };
}
