// `npm run bench:tracker -- [--json] [--connections C] [--swarms S] ...`
//
// A load generator (this process) against two trackers, each in its own
// process, in the same run: SwarmDrop's (tracker/main.ts) and bittorrent-tracker's
// server (from .reference/). For each:
//  1. throughput: C connections over loopback, spread over S swarms, announce
//     with 10 offers each, keeping `inflight` announces outstanding in total,
//     and answer every offer relayed to them; announces/s, relayed offers/s,
//     answers/s and announce latency (p50/p99) over the measuring window;
//  2. holding: H more connections that each join a swarm and stay idle; the
//     tracker's RSS (from /proc/<pid>/status) and RSS per connection.
// Prints a table, and with --json one JSON object as the last line.
import { readFileSync } from "node:fs";
import { WebSocket } from "ws";
import { haveReferenceTracker } from "../tracker/reference-peers.ts";
import { startNodeScript, startTrackerProcess, type Child } from "../tracker/process-harness.ts";

class BenchArgsError extends Error {
  override name = "BenchArgsError";
}

interface Args {
  connections: number;
  swarms: number;
  offers: number;
  inflight: number;
  warmupS: number;
  durationS: number;
  hold: number;
  only: "both" | "swarmdrop" | "reference";
  json: boolean;
}

const usage = `npm run bench:tracker -- [options]
  --connections C   connections announcing in the throughput phase (default 1000)
  --swarms S        swarms they are spread over (default 50)
  --offers N        offers per announce (default 10)
  --inflight W      announces outstanding at once over all connections (default 100)
  --warmup S        seconds of load before measuring (default 3)
  --duration S      seconds measured per tracker (default 12)
  --hold H          idle connections held for the memory figure (default 5000; this
                    host's open-file limit caps it just below 20000)
  --only WHICH      swarmdrop | reference | both (default both)
  --json            the last line is one JSON object with every figure`;

function parseArgs(argv: readonly string[]): Args | null {
  const args: Args = { connections: 1000, swarms: 50, offers: 10, inflight: 100, warmupS: 3, durationS: 12, hold: 5000, only: "both", json: false };
  const numeric: Record<string, keyof Args> = { "--connections": "connections", "--swarms": "swarms", "--offers": "offers", "--inflight": "inflight", "--warmup": "warmupS", "--duration": "durationS", "--hold": "hold" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") return null;
    if (a === "--json") args.json = true;
    else if (a === "--only") {
      const v = argv[++i];
      if (v !== "both" && v !== "swarmdrop" && v !== "reference") throw new BenchArgsError("--only takes swarmdrop, reference or both");
      args.only = v;
    } else if (a in numeric) {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new BenchArgsError(`${a} needs a non-negative number`);
      (args as unknown as Record<string, number>)[numeric[a]!] = v;
    } else throw new BenchArgsError(`unknown option ${a}\n${usage}`);
  }
  if (args.connections < 2 || args.swarms < 1 || args.swarms > args.connections / 2) throw new BenchArgsError("need at least 2 connections per swarm");
  if (args.offers > 10) throw new BenchArgsError("at most 10 offers per announce (the tracker relays at most 10)");
  return args;
}

// ------------------------------------------------------------------ helpers

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => void process.stderr.write(`[bench:tracker] ${line}\n`);

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = status.match(/^VmRSS:\s+(\d+) kB/m);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat fields 14 and 15, 100 ticks/s). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Printable 20-char ids: no JSON escapes, so ids can be read back with indexOf. */
const id20 = (prefix: string, n: number): string => (prefix + n.toString(36)).padEnd(20, ".").slice(0, 20);

// A data-channel-only offer as Chromium writes it (about 450 characters).
const SDP =
  "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n" +
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=candidate:1 1 udp 2113937151 127.0.0.1 54400 typ host generation 0\r\n" +
  "a=ice-ufrag:Xk2f\r\na=ice-pwd:QyT1h2kS9bE7w0vYp3rL5nMc\r\na=ice-options:trickle\r\n" +
  "a=fingerprint:sha-256 6B:8B:5D:EA:59:04:20:23:29:C8:87:1C:CD:87:32:BE:DD:8C:66:A5:8E:50:55:EA:8C:D3:B6:5C:09:5E:D6:BC\r\n" +
  "a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";
const OFFER_JSON = JSON.stringify({ type: "offer", sdp: SDP });
const ANSWER_JSON = JSON.stringify({ type: "answer", sdp: SDP.replace("actpass", "active") });

interface Conn {
  ws: WebSocket;
  index: number;
  peerId: string;
  infoHash: string;
  announce: string;
  sentAtMs: number;
  waiting: boolean;
}

interface Counters {
  measuring: boolean;
  announces: number;
  offers: number;
  answers: number;
  failures: number;
  latencies: number[];
}

async function openConnections(url: string, count: number, swarms: number, offers: number, onMessage: (c: Conn, text: string) => void, base = 0): Promise<Conn[]> {
  const conns: Conn[] = [];
  const batch = 250;
  for (let start = 0; start < count; start += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, (_, k) => {
        const index = base + start + k;
        const peerId = id20("-BENCH-", index);
        const infoHash = id20("swarm-", index % swarms);
        const offerList = Array.from({ length: offers }, (_, o) => `{"offer":${OFFER_JSON},"offer_id":"${id20(`o${o}-`, index)}"}`).join(",");
        const announce = `{"action":"announce","info_hash":"${infoHash}","peer_id":"${peerId}","numwant":${offers},"uploaded":0,"downloaded":0,"left":1000,"offers":[${offerList}]}`;
        return new Promise<Conn>((resolve, reject) => {
          const ws = new WebSocket(url, { perMessageDeflate: false });
          const conn: Conn = { ws, index, peerId, infoHash, announce, sentAtMs: 0, waiting: false };
          ws.on("message", (data) => onMessage(conn, String(data)));
          ws.once("open", () => resolve(conn));
          ws.once("error", reject);
        });
      }),
    );
    conns.push(...opened);
  }
  return conns;
}

/** Joins every connection to its swarm (event started, no offers) and waits for all responses. */
async function joinAll(conns: Conn[], pending: { n: number }): Promise<void> {
  pending.n = conns.length;
  for (const c of conns) {
    c.waiting = true;
    c.ws.send(`{"action":"announce","info_hash":"${c.infoHash}","peer_id":"${c.peerId}","numwant":0,"uploaded":0,"downloaded":0,"left":1000,"event":"started"}`);
  }
  const deadline = Date.now() + 60_000;
  while (pending.n > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.n} of ${conns.length} joins got no response within 60 s`);
    await sleep(20);
  }
}

export interface TrackerFigures {
  announcesPerS: number;
  /** Announces per second of the tracker's own CPU time: its capacity on one dedicated core. */
  announcesPerCpuS: number;
  /** Extra RSS per held connection over the idle process (per loaded connection when nothing is held). */
  rssBytesPerConnection: number;
  /** Cores the tracker used while measured (1 = one full core). */
  trackerCpuShare: number;
  generatorCpuShare: number;
  offersRelayedPerS: number;
  answersRelayedPerS: number;
  p50Ms: number;
  p99Ms: number;
  failures: number;
  loadRssBytes: number;
  idleRssBytes: number;
  holdConnections: number;
  holdRssBytes: number;
}

async function measureTracker(name: string, child: Child, port: number, args: Args): Promise<TrackerFigures> {
  const pid = child.process.pid!;
  const url = `ws://127.0.0.1:${port}/announce`;
  await sleep(500);
  const idleRssBytes = rssBytes(pid);
  const counters: Counters = { measuring: false, announces: 0, offers: 0, answers: 0, failures: 0, latencies: [] };
  const joins = { n: 0 };
  let running = false;
  let conns: Conn[] = [];
  let next = 0;

  const sendNext = (): void => {
    // Round-robin over idle connections keeps `inflight` announces outstanding.
    for (let tries = 0; tries < conns.length; tries++) {
      const c = conns[next]!;
      next = (next + 1) % conns.length;
      if (c.waiting) continue;
      c.waiting = true;
      c.sentAtMs = performance.now();
      c.ws.send(c.announce);
      return;
    }
  };

  const onMessage = (c: Conn, text: string): void => {
    if (text.includes('"offer":{')) {
      const o = text.indexOf('"offer_id":"') + 12;
      const p = text.indexOf('"peer_id":"') + 11;
      if (counters.measuring) counters.offers++;
      c.ws.send(`{"action":"announce","info_hash":"${c.infoHash}","peer_id":"${c.peerId}","to_peer_id":"${text.slice(p, p + 20)}","offer_id":"${text.slice(o, o + 20)}","answer":${ANSWER_JSON}}`);
    } else if (text.includes('"answer":{')) {
      if (counters.measuring) counters.answers++;
    } else if (text.includes('"failure reason"')) {
      counters.failures++;
      if (c.waiting && !text.includes("Could not find the offer")) {
        c.waiting = false;
        if (running) sendNext();
      }
    } else if (text.includes('"interval"')) {
      if (!c.waiting) return;
      c.waiting = false;
      if (joins.n > 0) {
        joins.n--;
        return;
      }
      if (counters.measuring) {
        counters.announces++;
        counters.latencies.push(performance.now() - c.sentAtMs);
      }
      if (running) sendNext();
    }
  };

  // Holding first, on the fresh process, so its RSS is not inflated by the load's garbage.
  let holdRssBytes = 0;
  let holdOpenS = 0;
  if (args.hold > 0) {
    log(`${name}: opening ${args.hold} idle connections (RSS before: ${(idleRssBytes / 2 ** 20).toFixed(0)} MiB)`);
    const h0 = performance.now();
    const held = await openConnections(url, args.hold, Math.max(1, Math.floor(args.hold / 20)), 0, onMessage, 1_000_000);
    await joinAll(held, joins);
    holdOpenS = (performance.now() - h0) / 1000;
    await sleep(1000);
    holdRssBytes = rssBytes(pid);
    log(`${name}: ${args.hold} connections held in ${holdOpenS.toFixed(1)} s, RSS ${(holdRssBytes / 2 ** 20).toFixed(0)} MiB`);
    for (const c of held) c.ws.terminate();
    await sleep(1000);
  }

  log(`${name}: opening ${args.connections} connections over ${args.swarms} swarms`);
  conns = await openConnections(url, args.connections, args.swarms, args.offers, onMessage);
  await joinAll(conns, joins);
  log(`${name}: ${args.warmupS} s warm-up, then ${args.durationS} s measured, ${args.inflight} announces in flight`);
  running = true;
  for (let i = 0; i < Math.min(args.inflight, conns.length); i++) sendNext();
  await sleep(args.warmupS * 1000);
  counters.measuring = true;
  const t0 = performance.now();
  const cpu0 = cpuMs(pid);
  const selfCpu0 = process.cpuUsage();
  await sleep(args.durationS * 1000);
  counters.measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const trackerCpuS = (cpuMs(pid) - cpu0) / 1000;
  const selfCpu = process.cpuUsage(selfCpu0);
  const generatorCpuS = (selfCpu.user + selfCpu.system) / 1e6;
  running = false;
  const loadRssBytes = rssBytes(pid);
  await sleep(300);
  for (const c of conns) c.ws.terminate();
  conns = [];

  const sorted = Float64Array.from(counters.latencies).sort();
  const figures: TrackerFigures = {
    announcesPerS: Math.round(counters.announces / elapsedS),
    announcesPerCpuS: Math.round(counters.announces / Math.max(trackerCpuS, 0.01)),
    trackerCpuShare: Math.round((trackerCpuS / elapsedS) * 100) / 100,
    generatorCpuShare: Math.round((generatorCpuS / elapsedS) * 100) / 100,
    offersRelayedPerS: Math.round(counters.offers / elapsedS),
    answersRelayedPerS: Math.round(counters.answers / elapsedS),
    p50Ms: Math.round(percentile(sorted, 50) * 100) / 100,
    p99Ms: Math.round(percentile(sorted, 99) * 100) / 100,
    failures: counters.failures,
    loadRssBytes,
    idleRssBytes,
    holdConnections: args.hold,
    holdRssBytes,
    rssBytesPerConnection: args.hold > 0 ? Math.round((holdRssBytes - idleRssBytes) / args.hold) : Math.round((loadRssBytes - idleRssBytes) / args.connections),
  };
  log(`${name}: ${figures.announcesPerCpuS} announces per tracker CPU second (tracker used ${figures.trackerCpuShare} cores, generator ${figures.generatorCpuShare}); ${figures.announcesPerS} announces/s, ${figures.offersRelayedPerS} offers/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, ${(figures.holdRssBytes / 2 ** 20).toFixed(0)} MiB RSS with ${args.hold} connections`);
  return figures;
}

function table(rows: [string, string, string][]): string {
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r, i) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("   ") + (i === 0 ? "\n" + widths.map((w) => "-".repeat(w)).join("   ") : "")).join("\n");
}

async function main(): Promise<void> {
  let args: Args | null;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(2);
  }
  if (!args) {
    console.log(usage);
    return;
  }
  const startedAt = new Date().toISOString();
  // BENCH_TRACKER_PROFILE=<dir> writes a V8 CPU profile of each tracker process there.
  const profileDir = process.env.BENCH_TRACKER_PROFILE;
  const profileArgs: string[] = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const results: { swarmdrop?: TrackerFigures; reference?: TrackerFigures } = {};
  const notes: string[] = [];

  if (args.only !== "reference") {
    const ours = await startTrackerProcess(["--rate-limit", "0", "--quiet", "--max-connections", "1000000"], {}, profileArgs);
    try {
      results.swarmdrop = await measureTracker("SwarmDrop", ours, ours.port, args);
    } finally {
      await ours.stop();
    }
  }
  if (args.only !== "swarmdrop") {
    if (!haveReferenceTracker()) {
      notes.push("bittorrent-tracker is not installed: run scripts/install-reference.sh");
    } else {
      const ref = await startNodeScript("bench/tracker-reference-server.ts", [], /listening on (\d+)/, {}, profileArgs);
      try {
        results.reference = await measureTracker("bittorrent-tracker", ref, Number(ref.match[1]), args);
      } finally {
        await ref.stop();
      }
    }
  }

  const ours = results.swarmdrop;
  const ref = results.reference;
  const ratio = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b ? Math.round((a / b) * 100) / 100 : null);
  const announcesRatio = ratio(ours?.announcesPerS, ref?.announcesPerS);
  const offersRatio = ratio(ours?.offersRelayedPerS, ref?.offersRelayedPerS);
  const MiB = (b: number | undefined): string => (b === undefined ? "-" : `${(b / 2 ** 20).toFixed(0)} MiB`);
  const KiB = (b: number | undefined): string => (b === undefined ? "-" : `${(b / 1024).toFixed(1)} KiB`);
  const n = (v: number | undefined, unit = ""): string => (v === undefined ? "-" : `${v}${unit}`);
  console.log(
    `\nTracker benchmark: ${args.connections} connections, ${args.swarms} swarms, ${args.offers} offers per announce, ${args.inflight} in flight, ${args.durationS} s measured; ${args.hold} idle connections held\n`,
  );
  console.log(
    table([
      ["Figure", "SwarmDrop", "bittorrent-tracker"],
      ["announces/s", n(ours?.announcesPerS), n(ref?.announcesPerS)],
      ["relayed offers/s", n(ours?.offersRelayedPerS), n(ref?.offersRelayedPerS)],
      ["relayed answers/s", n(ours?.answersRelayedPerS), n(ref?.answersRelayedPerS)],
      ["announce latency p50", n(ours?.p50Ms, " ms"), n(ref?.p50Ms, " ms")],
      ["announce latency p99", n(ours?.p99Ms, " ms"), n(ref?.p99Ms, " ms")],
      ["RSS under load", MiB(ours?.loadRssBytes), MiB(ref?.loadRssBytes)],
      [`RSS holding ${args.hold} connections`, MiB(ours?.holdRssBytes), MiB(ref?.holdRssBytes)],
      ["RSS idle", MiB(ours?.idleRssBytes), MiB(ref?.idleRssBytes)],
      ["RSS per held connection (over idle)", KiB(ours?.rssBytesPerConnection), KiB(ref?.rssBytesPerConnection)],
      ["announces per tracker CPU second", n(ours?.announcesPerCpuS), n(ref?.announcesPerCpuS)],
      ["tracker CPU used (cores)", n(ours?.trackerCpuShare), n(ref?.trackerCpuShare)],
    ]),
  );
  if (announcesRatio !== null) console.log(`\nannounces/s ratio SwarmDrop / bittorrent-tracker: ${announcesRatio}x (goal: at least 3x)`);
  if (offersRatio !== null) console.log(`relayed offers/s ratio: ${offersRatio}x`);
  const cpuRatio = ratio(ours?.announcesPerCpuS, ref?.announcesPerCpuS);
  if (cpuRatio !== null) console.log(`announces per tracker CPU second ratio: ${cpuRatio}x (capacity on one dedicated core; robust on a shared machine)`);
  const projected = ours ? ours.idleRssBytes + ours.rssBytesPerConnection * 20_000 : null;
  if (projected !== null) console.log(`SwarmDrop RSS at 20,000 connections, projected from the held ones: ${MiB(projected)} (goal: under 1 GiB)`);
  for (const note of notes) console.log(`note: ${note}`);
  if (args.json) {
    console.log(
      JSON.stringify({
        version: 1,
        bench: "tracker",
        startedAt,
        settings: { connections: args.connections, swarms: args.swarms, offersPerAnnounce: args.offers, inflight: args.inflight, durationS: args.durationS, holdConnections: args.hold },
        swarmdrop: ours ?? null,
        reference: ref ?? null,
        announcesPerS: ours?.announcesPerS ?? null,
        referenceAnnouncesPerS: ref?.announcesPerS ?? null,
        announcesRatio,
        offersRelayedPerS: ours?.offersRelayedPerS ?? null,
        referenceOffersRelayedPerS: ref?.offersRelayedPerS ?? null,
        offersRatio,
        p50Ms: ours?.p50Ms ?? null,
        p99Ms: ours?.p99Ms ?? null,
        rssBytesPerConnection: ours?.rssBytesPerConnection ?? null,
        announcesPerCpuSRatio: cpuRatio,
        holdConnections: args.hold,
        holdRssBytes: ours?.holdRssBytes ?? null,
        projectedRssBytesAt20000: projected,
        notes,
      }),
    );
  }
}

main().catch((err: unknown) => {
  console.error(`bench:tracker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exit(1);
});
