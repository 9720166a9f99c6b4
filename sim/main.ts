// npm run sim -- --peers N --pieces P --seed S [--scenario NAME] [--json] [--progress]
//   [--capacity homogeneous|classes|heavy-tailed] [--free-riders F] [--no-choker]
//   [--picker rarest-first|random] [--seed-leaves] [--departure seed-on|leave]
//   [--arrivals flash|poisson] [--rate R] [--connect K] [--step-ms MS] [--svg PATH]
//   [--upload-scheduling shared|block-round-robin] [--sample-every S] [--idle-census UNTIL_S]
//
// Runs the real engine (core/engine) for many peers on a virtual clock. With
// --json the last line is one JSON object:
//   {"peers","distributionTimeS","fluidBoundS","ratio","meanCompletionS","seedUploadedCopies","wallS", ...}
// Without it, a readable summary, and an SVG chart of completion times against
// the fluid bound and of piece availability over time.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { performance } from "node:perf_hooks";
import { scenarios, type CapacityModel, type SimConfig } from "./scenario.ts";
import { runChartSvg } from "./svg.ts";
import { runSwarm, type SimProgress } from "./swarm-sim.ts";
import { censusClasses } from "./upload-census.ts";

class UsageError extends Error {
  override name = "UsageError";
}

interface Cli {
  config: Partial<SimConfig>;
  scenario: string;
  json: boolean;
  svg: string | null;
  progress: boolean;
}

/** Flags that take one number, and the SimConfig field each sets. */
const numericFlags: Readonly<Record<string, keyof SimConfig>> = {
  "--peers": "peers",
  "--pieces": "pieces",
  "--seed": "seed",
  "--free-riders": "freeRiderFraction",
  "--rate": "arrivalRatePerS",
  "--connect": "connectTo",
  "--step-ms": "stepMs",
  "--seed-upload": "seedUploadBytesPerS",
  "--sample-every": "sampleEveryS",
  "--idle-census": "idleCensusUntilS",
};

function parse(argv: readonly string[]): Cli {
  const config: Record<string, unknown> = {};
  let scenario = "homogeneous";
  let json = false;
  let svg: string | null = null;
  let progress = false;
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n)) throw new UsageError(`${flag} needs a number`);
    return n;
  };
  const overrides: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string | undefined => argv[++i];
    const numeric = numericFlags[a];
    if (numeric !== undefined) {
      overrides[numeric] = num(a, next());
      continue;
    }
    switch (a) {
      case "--scenario": {
        const s = next();
        if (s === undefined || !(s in scenarios)) throw new UsageError(`--scenario is one of: ${Object.keys(scenarios).join(", ")}`);
        scenario = s;
        break;
      }
      case "--json":
        json = true;
        break;
      case "--progress":
        progress = true;
        break;
      case "--capacity": {
        const c = next();
        if (c !== "homogeneous" && c !== "classes" && c !== "heavy-tailed") throw new UsageError("--capacity is homogeneous, classes or heavy-tailed");
        overrides["capacity"] = c satisfies CapacityModel;
        break;
      }
      case "--no-choker":
        overrides["choker"] = false;
        break;
      case "--picker": {
        const p = next();
        if (p !== "rarest-first" && p !== "random") throw new UsageError("--picker is rarest-first or random");
        overrides["pieceSelection"] = p;
        break;
      }
      case "--seed-leaves":
        overrides["seedLeavesAfterFullCopy"] = true;
        break;
      case "--departure": {
        const d = next();
        if (d !== "seed-on" && d !== "leave") throw new UsageError("--departure is seed-on or leave");
        overrides["departure"] = d;
        break;
      }
      case "--arrivals": {
        const d = next();
        if (d !== "flash" && d !== "poisson") throw new UsageError("--arrivals is flash or poisson");
        overrides["arrivals"] = d;
        break;
      }
      case "--upload-scheduling": {
        const u = next();
        if (u !== "shared" && u !== "block-round-robin") throw new UsageError("--upload-scheduling is shared or block-round-robin");
        overrides["uploadScheduling"] = u;
        break;
      }
      case "--svg":
        svg = next() ?? null;
        break;
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  }
  Object.assign(config, scenarios[scenario], overrides);
  return { config: config as Partial<SimConfig>, scenario, json, svg, progress };
}

function main(): void {
  let cli: Cli;
  try {
    cli = parse(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`sim: ${e.message}`);
      console.error("usage: npm run sim -- --peers N --pieces P --seed S [--scenario NAME] [--json]");
      process.exit(2);
    }
    throw e;
  }
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // --progress: one line on stderr every 10 virtual seconds (long runs).
  const onProgress = (p: SimProgress): void => {
    const c = process.cpuUsage(cpu0);
    const cpu = (c.user + c.system) / 1e6;
    const line = [
      `t=${p.virtualS.toFixed(0)}s`,
      `blocks=${p.blocksDelivered}`,
      `completed=${p.completed}/${p.present}`,
      `wall=${((performance.now() - t0) / 1000).toFixed(1)}s`,
      `cpu=${cpu.toFixed(1)}s`,
      `us/block=${((cpu * 1e6) / Math.max(1, p.blocksDelivered)).toFixed(1)}`,
      `rss=${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)}MB`,
    ];
    console.error(`sim: ${line.join(" ")}`);
  };
  const r = runSwarm(cli.config, cli.progress ? { onProgress } : {});
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const cfg = r.config;
  const summary = {
    peers: r.peers,
    distributionTimeS: round(r.distributionTimeS),
    fluidBoundS: round(r.fluidBoundS),
    ratio: round(r.ratio, 4),
    meanCompletionS: round(r.meanCompletionS),
    seedUploadedCopies: round(r.seedUploadedCopies, 3),
    wallS: round(wallS, 2),
    cpuS: round(cpuS, 2),
    usPerBlock: round((cpuS * 1e6) / Math.max(1, r.blocksDelivered), 1),
    scenario: cli.scenario,
    pieces: cfg.pieces,
    seed: cfg.seed,
    completed: r.completed,
    meanCompletionContributorsS: round(r.meanCompletionContributorsS),
    meanCompletionFreeRidersS: r.meanCompletionFreeRidersS === null ? null : round(r.meanCompletionFreeRidersS),
    seedLeftAtS: r.seedLeftAtS,
    minRarestCopiesAfterSeedLeft: r.seedLeftAtS === null ? null : Math.min(...r.samples.filter((s) => s.t >= r.seedLeftAtS!).map((s) => s.minCopies)),
    blocksDelivered: r.blocksDelivered,
  };
  if (cli.json) {
    console.log(JSON.stringify(summary));
    return;
  }
  const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB/s`;
  console.log(`SwarmDrop simulator: scenario ${cli.scenario}, seed ${cfg.seed}`);
  console.log(`  ${cfg.peers} downloaders + 1 seed, ${cfg.pieces} pieces x ${cfg.pieceBytes / 1024} KiB = ${(r.fileBytes / 1048576).toFixed(1)} MiB`);
  console.log(
    `  capacities: ${cfg.capacity}, mean upload ${kib(cfg.meanUploadBytesPerS)}, seed upload ${kib(cfg.seedUploadBytesPerS ?? cfg.meanUploadBytesPerS)}; arrivals ${cfg.arrivals}; departure ${cfg.departure}`,
  );
  console.log(`  choker ${cfg.choker ? "on" : "off"}, picker ${cfg.pieceSelection}, free-riders ${(cfg.freeRiderFraction * 100).toFixed(0)}%`);
  console.log(`  finished: ${r.completed}/${r.peers}`);
  console.log(`  distribution time ${r.distributionTimeS.toFixed(1)} s, fluid bound D_min ${r.fluidBoundS.toFixed(1)} s, ratio ${r.ratio.toFixed(3)}`);
  console.log(`  mean completion ${r.meanCompletionS.toFixed(1)} s (contributors ${r.meanCompletionContributorsS.toFixed(1)} s${r.meanCompletionFreeRidersS === null ? "" : `, free-riders ${r.meanCompletionFreeRidersS.toFixed(1)} s`})`);
  console.log(`  seed uploaded ${r.seedUploadedCopies.toFixed(2)} copies${r.seedLeftAtS === null ? "" : `; seed left at ${r.seedLeftAtS.toFixed(1)} s`}`);
  console.log(`  wall time ${wallS.toFixed(2)} s, CPU ${cpuS.toFixed(2)} s (${r.blocksDelivered} blocks)`);
  const censused = r.samples.filter((s) => s.census !== undefined);
  if (censused.length > 0) {
    console.log(`  why downloaders' uplinks are idle (sim/upload-census.ts), downloaders per class:`);
    console.log(`  ${["t (s)", ...censusClasses].map((h) => h.padStart(18)).join("")}`);
    for (const s of censused) console.log(`  ${[s.t.toFixed(1), ...censusClasses.map((k) => String(s.census![k]))].map((v) => v.padStart(18)).join("")}`);
  }
  const path = cli.svg ?? `sim/out/${cli.scenario}-p${cfg.peers}-n${cfg.pieces}-s${cfg.seed}.svg`;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, runChartSvg(r, `${cli.scenario}, ${cfg.peers} peers`));
  console.log(`  chart: ${path}`);
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

main();
