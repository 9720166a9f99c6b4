// Command line of `npm run bench -- [--only name,...] [--size-mib N] [--repeat N] [--no-build] [--json]`.

export const benchmarkNames = ["throughput", "webtorrent", "swarm", "memory", "share", "tracker"] as const;
export type BenchmarkName = (typeof benchmarkNames)[number];

export interface BenchArgs {
  only: readonly BenchmarkName[];
  /** Overrides every benchmark's file size; null keeps the defaults. */
  sizeMiB: number | null;
  /** Runs of each two-peer transfer (ceiling, SwarmDrop, WebTorrent), interleaved; the median is reported. */
  repeat: number;
  /** Build the app (vite) into a temporary folder before the app benchmarks. */
  build: boolean;
  json: boolean;
  help: boolean;
}

export class ArgsError extends Error {
  override name = "ArgsError";
}

export const usage = `npm run bench -- [options]
  --only NAME[,NAME...]  run only these: ${benchmarkNames.join(", ")}
  --size-mib N           file size for every benchmark (default: 256 MiB transfers,
                         1024 MiB memory and time to share, 24 MiB swarm)
  --repeat N             interleaved runs of the two-peer transfers; medians reported (default 1)
  --no-build             use dist/ as it is instead of building the app first
  --json                 the last line of output is one JSON object with every figure
  --help`;

function isBenchmarkName(value: string): value is BenchmarkName {
  return (benchmarkNames as readonly string[]).includes(value);
}

function positiveInt(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n <= 0) throw new ArgsError(`${flag} needs a whole number above 0, got ${String(value)}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { only: benchmarkNames, sizeMiB: null, repeat: 1, build: true, json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf("=");
    const flag = raw.startsWith("--") && eq > 0 ? raw.slice(0, eq) : raw;
    const takeValue = (): string | undefined => (eq > 0 && raw.startsWith("--") ? raw.slice(eq + 1) : argv[++i]);
    switch (flag) {
      case "--only": {
        const value = takeValue();
        if (!value) throw new ArgsError("--only needs a comma-separated list of benchmarks");
        const names = value.split(",").map((s) => s.trim()).filter(Boolean);
        for (const name of names) {
          if (!isBenchmarkName(name)) throw new ArgsError(`unknown benchmark "${name}"; known: ${benchmarkNames.join(", ")}`);
        }
        args.only = benchmarkNames.filter((n) => names.includes(n));
        break;
      }
      case "--size-mib":
        args.sizeMiB = positiveInt("--size-mib", takeValue());
        break;
      case "--repeat":
        args.repeat = positiveInt("--repeat", takeValue());
        break;
      case "--no-build":
        args.build = false;
        break;
      case "--json":
        args.json = true;
        break;
      case "--help":
      case "-h":
        args.help = true;
        break;
      default:
        throw new ArgsError(`unknown option ${raw}\n${usage}`);
    }
  }
  return args;
}
