// The shared swarm store: several tracker processes keep swarm membership and
// counts in Redis, and route relayed offers and answers to the process holding
// the target connection over Redis pub/sub (one channel per process id).
//
// Every membership change is one Lua script, so it is atomic across processes.
// Keys (prefix configurable, default "sd:"):
//   <p>s:<infohash hex>:peers    hash   peer id hex -> "<conn key>|<1 seeder / 0 leecher>"
//   <p>s:<infohash hex>:expiry   zset   peer id hex scored by expiry (ms since epoch)
//   <p>s:<infohash hex>:counts   hash   seeders, completed
//   <p>swarms                    set    infohash hex of every non-empty swarm
//   <p>totals                    hash   peers, seeders over all swarms
//   <p>proc:<process id>         pub/sub channel of one tracker process, and
//                                string key with a short TTL: the process is alive
// Empty swarms are deleted by the same script that empties them. Random offer
// targets come from HRANDFIELD (Redis's own randomness, Redis >= 6.2).
//
// Failover: every process refreshes its liveness key on a timer (a third of
// its TTL) and deletes it on a clean close. A process killed without a goodbye
// leaves its peers in Redis; once its key has expired, a peer_id held by one
// of its connections may be claimed at once by a connection of another process
// (checked and taken over in the announce script, atomically), and its members
// met as offer targets are dropped on the way (lazy cleaning; the peer TTL
// removes the rest). A peer_id held by a live process stays protected.
import { createClient } from "redis";
import type { Random } from "../core/random.ts";
import type { ScrapeCounts, WireInfoHash, WirePeerId } from "../core/tracker-protocol.ts";
import type { Delivery, RemoteRoute } from "./relay.ts";
import type { SharedBackend } from "./server.ts";
import { StoreError, type StoreAnnounceInput, type StoreAnnounceOutcome, type SwarmStore } from "./store.ts";
import type { ConnKey, OfferTarget, SwarmStats } from "./swarm-logic.ts";

type RedisClient = ReturnType<typeof createClient>;

// Shared prelude: drop this swarm's expired peers (bounded per call), keeping counts right.
const EXPIRE = `
local function drop(p, e, c, totals, id, v)
  redis.call('HDEL', p, id)
  redis.call('ZREM', e, id)
  redis.call('HINCRBY', totals, 'peers', -1)
  if string.sub(v, -1) == '1' then
    redis.call('HINCRBY', c, 'seeders', -1)
    redis.call('HINCRBY', totals, 'seeders', -1)
  end
end
local function expire(p, e, c, totals, now)
  local stale = redis.call('ZRANGEBYSCORE', e, '-inf', now, 'LIMIT', 0, 200)
  for _, id in ipairs(stale) do
    local v = redis.call('HGET', p, id)
    if v then drop(p, e, c, totals, id, v) else redis.call('ZREM', e, id) end
  end
end
local function seeders(c) return tonumber(redis.call('HGET', c, 'seeders') or '0') end
local function free_if_empty(p, e, c, swarms, ih)
  if redis.call('HLEN', p) == 0 then
    redis.call('DEL', p, e, c)
    redis.call('SREM', swarms, ih)
  end
end
`;

// KEYS: peers, expiry, counts, swarms, totals
// ARGV: ih, peer, conn, event, left ("0" seeder, "1" leecher, "n" unknown), now, ttl, want, maxPeers,
//       liveness key prefix ("<p>proc:"; the key of process X is that prefix followed by X)
// The liveness keys are named from the members' connection keys, so they cannot
// be listed in KEYS: fine on a single Redis (the store does not support Cluster).
const ANNOUNCE =
  EXPIRE +
  `
local p, e, c, swarms, totals = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local ih, peer, conn, event, left = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local now, ttl, want, maxPeers = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local live = ARGV[10]
-- A connection key is "<process id>:<connection number>".
local function proc_of(k) return string.match(k, '^(.*):%d+$') end
local me = proc_of(conn)
local alive = {}
-- Whether a member's process may still speak for it: this process, an
-- unparseable key (never taken over), or a process whose liveness key exists.
local function owner_alive(k)
  local proc = proc_of(k)
  if proc == nil or proc == me then return true end
  local a = alive[proc]
  if a == nil then
    a = redis.call('EXISTS', live .. proc) == 1
    alive[proc] = a
  end
  return a
end
expire(p, e, c, totals, now)
local cur = redis.call('HGET', p, peer)
local curSeed = false
if cur then
  local owner = string.sub(cur, 1, -3)
  if owner ~= conn then
    if owner_alive(owner) then return {'taken'} end
    -- Held by a connection of a dead process: take the claim over as a new join.
    drop(p, e, c, totals, peer, cur)
    cur = nil
  else
    curSeed = string.sub(cur, -1) == '1'
  end
end
if event == 'stopped' then
  if cur then drop(p, e, c, totals, peer, cur) end
  local n, s = redis.call('HLEN', p), seeders(c)
  free_if_empty(p, e, c, swarms, ih)
  return {'ok', s, n - s, 0}
end
local seeder = false
if event == 'completed' or left == '0' then seeder = true elseif left == 'n' then seeder = curSeed end
if not cur then
  if redis.call('HLEN', p) >= maxPeers then return {'full'} end
  redis.call('HINCRBY', totals, 'peers', 1)
  redis.call('SADD', swarms, ih)
end
if seeder and not curSeed then
  redis.call('HINCRBY', c, 'seeders', 1)
  redis.call('HINCRBY', totals, 'seeders', 1)
elseif curSeed and not seeder then
  redis.call('HINCRBY', c, 'seeders', -1)
  redis.call('HINCRBY', totals, 'seeders', -1)
end
if event == 'completed' and not curSeed then redis.call('HINCRBY', c, 'completed', 1) end
redis.call('HSET', p, peer, conn .. '|' .. (seeder and '1' or '0'))
redis.call('ZADD', e, now + ttl, peer)
local n, s = redis.call('HLEN', p), seeders(c)
local out = {'ok', s, n - s, seeder and 1 or 0}
if want > 0 then
  local picks = redis.call('HRANDFIELD', p, want * 2 + 1, 'WITHVALUES')
  local got = 0
  for i = 1, #picks, 2 do
    if got >= want then break end
    local id, v = picks[i], picks[i + 1]
    local target = string.sub(v, 1, -3)
    if id ~= peer and not owner_alive(target) then
      -- A dead process's member: no one would get the offer; clean it now.
      drop(p, e, c, totals, id, v)
    elseif id ~= peer and not (seeder and string.sub(v, -1) == '1') then
      out[#out + 1] = id
      out[#out + 1] = target
      got = got + 1
    end
  end
  out[2], out[3] = seeders(c), redis.call('HLEN', p) - seeders(c)
end
return out
`;

// KEYS: peers, expiry, counts, swarms, totals; ARGV: ih, peer, conn
const LEAVE =
  EXPIRE +
  `
local p, e, c, swarms, totals = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local cur = redis.call('HGET', p, ARGV[2])
if cur and string.sub(cur, 1, -3) == ARGV[3] then drop(p, e, c, totals, ARGV[2], cur) end
free_if_empty(p, e, c, swarms, ARGV[1])
return 1
`;

// KEYS: peers, expiry, counts, swarms, totals; ARGV: ih, now -> {seeders, leechers, completed}
const COUNTS =
  EXPIRE +
  `
local p, e, c, swarms, totals = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
expire(p, e, c, totals, tonumber(ARGV[2]))
local n, s = redis.call('HLEN', p), seeders(c)
local done = tonumber(redis.call('HGET', c, 'completed') or '0')
free_if_empty(p, e, c, swarms, ARGV[1])
return {s, n - s, done}
`;

const toHex = (binary: string): string => Buffer.from(binary, "latin1").toString("hex");
const fromHex = (hex: string): string => Buffer.from(hex, "hex").toString("latin1");

export interface RedisStoreOptions {
  peerTtlMs: number;
  maxPeersPerSwarm: number;
  keyPrefix?: string;
}

/** The key whose presence says that tracker process `processId` is alive (same name as its channel). */
export function livenessKey(processId: string, keyPrefix = "sd:"): string {
  return `${keyPrefix}proc:${processId}`;
}

export class RedisStore implements SwarmStore {
  private readonly shas = new Map<string, string>();
  private readonly prefix: string;

  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisStoreOptions,
  ) {
    this.prefix = options.keyPrefix ?? "sd:";
  }

  private keys(infoHashHex: string): string[] {
    const s = `${this.prefix}s:${infoHashHex}:`;
    return [s + "peers", s + "expiry", s + "counts", this.prefix + "swarms", this.prefix + "totals"];
  }

  private async run(script: string, keys: string[], args: string[]): Promise<unknown> {
    let sha = this.shas.get(script);
    if (!sha) {
      sha = await this.client.scriptLoad(script);
      this.shas.set(script, sha);
    }
    try {
      return await this.client.evalSha(sha, { keys, arguments: args });
    } catch (err) {
      // Redis restarted and forgot the script: load it again once.
      if (err instanceof Error && err.message.startsWith("NOSCRIPT")) {
        this.shas.delete(script);
        return this.client.eval(script, { keys, arguments: args });
      }
      throw err;
    }
  }

  async announce(input: StoreAnnounceInput, nowMs: number, _random: Random): Promise<StoreAnnounceOutcome> {
    const ih = toHex(input.infoHash);
    const left = input.left === null ? "n" : input.left === 0 ? "0" : "1";
    const reply = await this.run(ANNOUNCE, this.keys(ih), [
      ih,
      toHex(input.peerId),
      input.conn,
      input.event,
      left,
      String(nowMs),
      String(this.options.peerTtlMs),
      String(input.offerCount),
      String(this.options.maxPeersPerSwarm),
      this.prefix + "proc:",
    ]);
    if (!Array.isArray(reply)) throw new StoreError("unexpected reply from the announce script");
    const status = String(reply[0]);
    if (status === "taken") return { ok: false, refusal: "peer-id-taken" };
    if (status === "full") return { ok: false, refusal: "swarm-full" };
    const complete = Number(reply[1]);
    const incomplete = Number(reply[2]);
    const targets: OfferTarget[] = [];
    for (let i = 4; i + 1 < reply.length; i += 2) targets.push({ peerId: fromHex(String(reply[i])) as WirePeerId, conn: String(reply[i + 1]) as ConnKey });
    const member = input.event !== "stopped";
    return { ok: true, complete, incomplete, seeder: Number(reply[3]) === 1, member, targets };
  }

  async leave(infoHash: WireInfoHash, peerId: WirePeerId, conn: ConnKey): Promise<void> {
    const ih = toHex(infoHash);
    await this.run(LEAVE, this.keys(ih), [ih, toHex(peerId), conn]);
  }

  async scrape(infoHashes: readonly WireInfoHash[], nowMs: number): Promise<ScrapeCounts[]> {
    return Promise.all(
      infoHashes.map(async (h) => {
        const ih = toHex(h);
        const reply = await this.run(COUNTS, this.keys(ih), [ih, String(nowMs)]);
        if (!Array.isArray(reply)) throw new StoreError("unexpected reply from the counts script");
        return { complete: Number(reply[0]), incomplete: Number(reply[1]), downloaded: Number(reply[2]) };
      }),
    );
  }

  async sweep(nowMs: number): Promise<void> {
    // Any process may sweep; the script is atomic, so concurrent sweeps are harmless.
    let cursor = "0";
    do {
      const page = await this.client.sScan(this.prefix + "swarms", cursor, { COUNT: 500 });
      cursor = String(page.cursor);
      await Promise.all(page.members.map((ih) => this.run(COUNTS, this.keys(String(ih)), [String(ih), String(nowMs)])));
    } while (cursor !== "0");
  }

  async stats(): Promise<SwarmStats> {
    const [swarms, totals] = await Promise.all([this.client.sCard(this.prefix + "swarms"), this.client.hGetAll(this.prefix + "totals")]);
    const peers = Number(totals.peers ?? 0);
    const seeders = Number(totals.seeders ?? 0);
    return { swarms: Number(swarms), peers, seeders, leechers: peers - seeders };
  }

  async close(): Promise<void> {
    // The client belongs to the backend, which closes it.
  }
}

export class RedisBackendError extends Error {
  override name = "RedisBackendError";
}

/** Reads a delivery published by another process; null when it is not one. */
export function parseDelivery(text: string): Delivery | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== "object" || v === null) return null;
  const d = v as Record<string, unknown>;
  const str = (k: string): boolean => typeof d[k] === "string";
  if (!str("to") || !str("toPeerId") || !str("infoHash") || !str("fromPeerId") || !str("offerId")) return null;
  const desc = d.kind === "offer" ? d.offer : d.kind === "answer" ? d.answer : null;
  if (typeof desc !== "object" || desc === null || typeof (desc as Record<string, unknown>).sdp !== "string") return null;
  if (d.kind === "offer" && !str("fromConn")) return null;
  return v as Delivery;
}

export interface RedisBackendOptions extends RedisStoreOptions {
  url: string;
  processId: string;
  /**
   * TTL of this process's liveness key, refreshed every third of it. After a
   * crash, its peers may be claimed through other processes once it lapses.
   */
  processTtlMs: number;
  onDelivery: (delivery: Delivery) => void;
  onError: (err: Error) => void;
}

/** Connects a command client and a subscriber, and returns the store plus the cross-process route. */
export async function createRedisBackend(options: RedisBackendOptions): Promise<SharedBackend> {
  const prefix = options.keyPrefix ?? "sd:";
  const client: RedisClient = createClient({ url: options.url });
  client.on("error", (err: Error) => options.onError(err));
  const subscriber: RedisClient = client.duplicate();
  subscriber.on("error", (err: Error) => options.onError(err));
  try {
    await client.connect();
    await subscriber.connect();
  } catch (err) {
    await Promise.allSettled([client.destroy(), subscriber.destroy()]);
    throw new RedisBackendError(`cannot connect to Redis at ${options.url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const toError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
  const alive = livenessKey(options.processId, prefix);
  const ttlMs = Math.max(1, Math.round(options.processTtlMs));
  // Alive before the first announce: no peer of ours may look like a dead process's.
  try {
    await client.set(alive, String(Date.now()), { expiration: { type: "PX", value: ttlMs } });
  } catch (err) {
    await Promise.allSettled([client.destroy(), subscriber.destroy()]);
    throw new RedisBackendError(`cannot write to Redis at ${options.url}: ${toError(err).message}`);
  }
  let refreshing = false;
  const heartbeat = setInterval(
    () => {
      if (refreshing) return;
      refreshing = true;
      client
        .set(alive, String(Date.now()), { expiration: { type: "PX", value: ttlMs }, GET: true })
        .then((previous) => {
          // Stalled or cut off from Redis for longer than the TTL: other processes may
          // have dropped some of our peers (they rejoin on their next announce) or let
          // another connection claim their peer_ids.
          if (previous === null) options.onError(new Error(`liveness key ${alive} had expired (no refresh for ${ttlMs} ms); renewed`));
        })
        .catch((err: unknown) => options.onError(toError(err)))
        .finally(() => {
          refreshing = false;
        });
    },
    Math.max(1, Math.floor(ttlMs / 3)),
  );
  heartbeat.unref();
  try {
    await subscriber.subscribe(`${prefix}proc:${options.processId}`, (message: string) => {
      const delivery = parseDelivery(message);
      if (delivery) options.onDelivery(delivery);
    });
  } catch (err) {
    clearInterval(heartbeat);
    await Promise.allSettled([client.del(alive), subscriber.destroy()]);
    await client.destroy();
    throw new RedisBackendError(`cannot subscribe at ${options.url}: ${toError(err).message}`);
  }
  const route: RemoteRoute = (processId, delivery) => {
    client.publish(`${prefix}proc:${processId}`, JSON.stringify(delivery)).catch((err: unknown) => options.onError(toError(err)));
  };
  return {
    store: new RedisStore(client, options),
    route,
    close: async () => {
      clearInterval(heartbeat);
      // Gone at once: whatever we failed to remove may be claimed through other processes.
      await client.del(alive).catch((err: unknown) => options.onError(toError(err)));
      await Promise.allSettled([subscriber.quit(), client.quit()]);
    },
  };
}
