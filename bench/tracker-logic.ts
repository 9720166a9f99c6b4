// `npx tsx bench/tracker-logic.ts`: CPU cost of the tracker's protocol logic
// alone (tracker/relay.ts with the memory store), no sockets. C connections
// in S swarms; each cycle is one announce with 10 offers plus the 10 answers to
// the relayed offers, the workload of bench/tracker.ts. Prints µs of CPU per
// cycle, excluding the harness's own work of writing the answers.
import { seededRandom } from "../core/random.ts";
import { defaultTrackerParseLimits } from "../core/tracker-protocol.ts";
import { MemoryStore } from "../tracker/memory-store.ts";
import { Relay } from "../tracker/relay.ts";

const CONNECTIONS = 1000;
const SWARMS = 50;
const CYCLES = 20_000;
const id = (prefix: string, n: number): string => (prefix + n.toString(36)).padEnd(20, ".").slice(0, 20);
const SDP = "a=candidate:1 1 udp 2113937151 127.0.0.1 54400 typ host\r\n".repeat(8);

const relay = new Relay(
  new MemoryStore({ peerTtlMs: 180_000, maxPeersPerSwarm: 10_000 }),
  { announceIntervalMs: 120_000, offerTtlMs: 60_000, maxPendingOffersPerConnection: 100, maxSwarmsPerConnection: 100, maxQueuedMessagesPerConnection: 32, parseLimits: defaultTrackerParseLimits },
  "bench",
  { nowMs: () => Date.now() },
  seededRandom(1),
);
const inboxes: string[][] = Array.from({ length: CONNECTIONS }, () => []);
const conns = inboxes.map((box) => relay.open((text) => box.push(text)));
const announces = conns.map((_, i) =>
  JSON.stringify({
    action: "announce",
    info_hash: id("swarm-", i % SWARMS),
    peer_id: id("peer-", i),
    numwant: 10,
    uploaded: 0,
    downloaded: 0,
    left: 5,
    offers: Array.from({ length: 10 }, (_, o) => ({ offer: { type: "offer", sdp: SDP }, offer_id: id(`o${o}-`, i) })),
  }),
);
conns.forEach((c, i) => relay.handleText(c, JSON.stringify({ action: "announce", info_hash: id("swarm-", i % SWARMS), peer_id: id("peer-", i), left: 5, event: "started" })));
for (const box of inboxes) box.length = 0;

const answerJson = JSON.stringify({ type: "answer", sdp: SDP });
let harnessUs = 0;
const cpu0 = process.cpuUsage();
for (let k = 0; k < CYCLES; k++) {
  const i = k % CONNECTIONS;
  relay.handleText(conns[i]!, announces[i]!);
  for (let j = 0; j < CONNECTIONS; j++) {
    const box = inboxes[j]!;
    if (box.length === 0) continue;
    for (const text of box) {
      if (!text.includes('"offer":{')) continue;
      const h0 = process.cpuUsage();
      // Bench ids are printable, so they can be read back without a JSON parse.
      const o = text.indexOf('"offer_id":"') + 12;
      const p = text.indexOf('"peer_id":"') + 11;
      const answer = `{"action":"announce","info_hash":"${id("swarm-", j % SWARMS)}","peer_id":"${id("peer-", j)}","to_peer_id":"${text.slice(p, p + 20)}","offer_id":"${text.slice(o, o + 20)}","answer":${answerJson}}`;
      const h = process.cpuUsage(h0);
      harnessUs += h.user + h.system;
      relay.handleText(conns[j]!, answer);
    }
    box.length = 0;
  }
}
const total = process.cpuUsage(cpu0);
const totalUs = total.user + total.system;
const c = relay.counters;
console.log(
  `tracker logic: ${((totalUs - harnessUs) / CYCLES).toFixed(1)} µs CPU per cycle (1 announce with 10 offers + ${(c.answersRelayed / CYCLES).toFixed(1)} answers relayed), ` +
    `${Math.round(CYCLES / ((totalUs - harnessUs) / 1e6))} cycles per CPU second`,
);
