import { describe, expect, it } from "vitest";
import { ConfigError, helpText, loadConfig } from "./config.ts";

const load = (argv: string[], env: Record<string, string> = {}) => {
  const r = loadConfig(argv, env);
  if (r.kind !== "config") throw new Error("expected a config");
  return r.config;
};

describe("tracker config", () => {
  it("has defaults matching the reference ws tracker and aquatic_ws", () => {
    const c = load([]);
    expect(c).toMatchObject({ port: 8000, host: "0.0.0.0", announceIntervalMs: 120_000, peerTtlMs: 180_000, maxMessageBytes: 65536, trustProxy: false, allowedOrigins: null, iceServers: [], redisUrl: null, processTtlMs: 5000, distDir: "dist" });
  });

  it("reads environment variables, and flags override them", () => {
    const c = load(["--port", "9001", "--trust-proxy", "--announce-interval=30", "--peer-ttl", "45", "--process-ttl", "1.5"], { PORT: "7000", HOST: "127.0.0.1", TRUST_PROXY: "false", REDIS_URL: "redis://127.0.0.1:6390" });
    expect(c).toMatchObject({ port: 9001, host: "127.0.0.1", trustProxy: true, announceIntervalMs: 30_000, peerTtlMs: 45_000, processTtlMs: 1500, redisUrl: "redis://127.0.0.1:6390" });
  });

  it("parses ICE servers and allowed origins", () => {
    const c = load([], { ICE_SERVERS: '[{"urls":"stun:stun.l.example:19302"},{"urls":["turn:t.example:3478?transport=udp"],"username":"u","credential":"c"}]', ALLOWED_ORIGINS: "https://a.example, http://localhost:8000" });
    expect(c.iceServers).toEqual([{ urls: "stun:stun.l.example:19302" }, { urls: ["turn:t.example:3478?transport=udp"], username: "u", credential: "c" }]);
    expect(c.allowedOrigins).toEqual(["https://a.example", "http://localhost:8000"]);
  });

  it.each([
    [["--port", "eighty"], {}, "--port: expected a non-negative number"],
    [["--nope"], {}, "unknown flag --nope"],
    [["--port"], {}, "--port needs a value"],
    [[], { ICE_SERVERS: "{" }, "ICE_SERVERS: not valid JSON"],
    [[], { ICE_SERVERS: '[{"urls":"http://x"}]' }, "is not a stun:"],
    [[], { ALLOWED_ORIGINS: "https://a.example/path" }, "is not an origin"],
    [[], { REDIS_URL: "http://localhost" }, "redis://"],
    [[], { PEER_TTL: "60", ANNOUNCE_INTERVAL: "120" }, "must exceed ANNOUNCE_INTERVAL"],
    [[], { TRUST_PROXY: "maybe" }, "expected true or false"],
    [[], { PROCESS_TTL: "0.1" }, "PROCESS_TTL: must be at least 0.5"],
  ] as [string[], Record<string, string>, string][])("refuses %j %j with a clear ConfigError", (argv, env, words) => {
    expect(() => loadConfig(argv, env)).toThrow(ConfigError);
    expect(() => loadConfig(argv, env)).toThrow(words);
  });

  it("documents every environment variable in --help", () => {
    expect(loadConfig(["--help"], {})).toEqual({ kind: "help", text: helpText() });
    for (const name of ["PORT", "HOST", "ANNOUNCE_INTERVAL", "PEER_TTL", "MAX_MESSAGE_BYTES", "RATE_LIMIT", "ALLOWED_ORIGINS", "TRUST_PROXY", "ICE_SERVERS", "REDIS_URL", "PROCESS_TTL"]) {
      expect(helpText()).toContain(name);
    }
  });
});
