// Command-line parsing for the headless peer. Pure: argv in, a typed command
// or a UsageError out (main.ts prints it and exits with ExitCode.usage).

/** Exit codes: each says what failed. */
export const ExitCode = {
  ok: 0,
  /** Something unexpected (a bug): the message says what. */
  unexpected: 1,
  /** Bad command line. */
  usage: 2,
  /** The link, magnet or .torrent could not be read or is invalid. */
  badLink: 3,
  /** An input path is missing or unreadable, or holds nothing to share. */
  unreadablePath: 4,
  /** Writing to disk failed (permissions, disk full, output path in the way). */
  storage: 5,
  /** A part of the swarm engine is missing here (e.g. WebRTC for Node, @roamhq/wrtc, not installed). */
  engineUnavailable: 6,
  /** Tracker or peers unreachable. */
  network: 7,
  /** Stopped by Ctrl-C (SIGINT) or SIGTERM: 128 + signal 2. */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class UsageError extends Error {
  override name = "UsageError";
}

/** The tracker `npm start` runs, as the web app itself names it (web/main.tsx: ws://<host>/announce). */
export const defaultTrackerUrl = "ws://localhost:8000/announce";

interface CommonOptions {
  /** WebSocket tracker URLs (ws:// or wss://), in order. */
  readonly trackers: readonly string[];
  /** Where resume state files live; null means the default (XDG state dir). */
  readonly stateDir: string | null;
  /** Print a QR code of the share link. */
  readonly qr: boolean;
  /** Base URL of the SwarmDrop web app for share links; null derives it from the first tracker. */
  readonly appUrl: string | null;
}

export type Command =
  | { readonly kind: "help"; readonly topic: "seed" | "get" | null }
  | { readonly kind: "version" }
  | (CommonOptions & {
      readonly kind: "seed";
      readonly paths: readonly string[];
      /** Reuse the saved piece hashes when the files have not changed. */
      readonly resume: boolean;
      /** Torrent name; defaults to the (first) path's base name. */
      readonly name: string | null;
      /** Piece length in bytes; null chooses one from the total size. */
      readonly pieceLengthBytes: number | null;
      /** Also write a .torrent file here. */
      readonly torrentOut: string | null;
      /** Super-seed (core/engine/super-seed.ts): reveal pieces one at a time so the seed's upload goes to distinct pieces. */
      readonly superSeed: boolean;
    })
  | (CommonOptions & {
      readonly kind: "get";
      /** A share link, magnet link, bare infohash or .torrent path (not yet interpreted). */
      readonly source: string;
      readonly outDir: string;
      /** Keep seeding after the download completes. */
      readonly seed: boolean;
    });

export const usageText = `swarmdrop: share files with browsers over a BitTorrent-style WebRTC swarm

Usage:
  swarmdrop seed <paths...> [options]     hash files/folders, print the share link, seed
  swarmdrop get <link> [options]          download from a share link, magnet link,
                                          infohash or .torrent file
  swarmdrop --help | help [seed|get]
  swarmdrop --version

Options (both commands):
  --tracker <ws-url>     WebSocket tracker (repeatable; default ${defaultTrackerUrl})
  --app-url <url>        SwarmDrop web app for the share link (default: from the tracker)
  --state-dir <dir>      where resume state is kept (default $XDG_STATE_HOME/swarmdrop)
  --no-qr                do not print a QR code

seed options:
  --resume               skip hashing when the files match the last run's state
  --name <name>          torrent name (default: the first path's name)
  --piece-length <n>     piece length in bytes or with KiB/MiB (power of two, 16 KiB..4 MiB)
  --torrent-out <file>   also write a .torrent file
  --super-seed           reveal pieces a few at a time, each piece once before any
                         twice, until the swarm holds every piece (for a seed with
                         a slow uplink and many downloaders)

get options:
  --out <dir>            download folder (default: current folder)
  --seed                 keep seeding after the download completes

Exit codes: 0 ok, 2 usage, 3 bad link/torrent, 4 unreadable path, 5 disk error,
            6 WebRTC/engine not available, 7 network, 130 interrupted, 1 unexpected.
`;

const KiB = 1024;
const MiB = 1024 * KiB;

/** "262144", "256KiB", "256k", "1MiB", "4m" -> bytes. */
export function parseByteSize(text: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`${JSON.stringify(text)} is not a size (try 262144, 256KiB or 1MiB)`);
  const unit = (m[2] ?? "b").toLowerCase();
  const n = Number(m[1]);
  const bytes = unit.startsWith("k") ? n * KiB : unit.startsWith("m") ? n * MiB : n;
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${JSON.stringify(text)} is too large`);
  return bytes;
}

function checkTrackerUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--tracker ${JSON.stringify(text)} is not a URL (expected ws://host:port or wss://host)`);
  }
  if (url.protocol !== "ws:" && url.protocol !== "wss:") {
    throw new UsageError(`--tracker ${JSON.stringify(text)} must be a WebSocket URL (ws:// or wss://)`);
  }
  return text;
}

function checkHttpUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--app-url ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--app-url ${JSON.stringify(text)} must be http:// or https://`);
  return text;
}

type OptionSpec = { readonly takesValue: boolean; readonly commands: readonly ("seed" | "get")[] };
const options: Record<string, OptionSpec> = {
  tracker: { takesValue: true, commands: ["seed", "get"] },
  "app-url": { takesValue: true, commands: ["seed", "get"] },
  "state-dir": { takesValue: true, commands: ["seed", "get"] },
  "no-qr": { takesValue: false, commands: ["seed", "get"] },
  resume: { takesValue: false, commands: ["seed"] },
  name: { takesValue: true, commands: ["seed"] },
  "piece-length": { takesValue: true, commands: ["seed"] },
  "torrent-out": { takesValue: true, commands: ["seed"] },
  "super-seed": { takesValue: false, commands: ["seed"] },
  out: { takesValue: true, commands: ["get"] },
  seed: { takesValue: false, commands: ["get"] },
};

/** Parses argv without the node and script entries (process.argv.slice(2)). */
export function parseArgs(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("no command given: use `swarmdrop seed <paths...>` or `swarmdrop get <link>`");
  if (first === "--help" || first === "-h") return { kind: "help", topic: null };
  if (first === "--version" || first === "-V") return { kind: "version" };
  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) return { kind: "help", topic: null };
    if (topic === "seed" || topic === "get") return { kind: "help", topic };
    throw new UsageError(`no help for ${JSON.stringify(topic)}: the commands are seed and get`);
  }
  if (first !== "seed" && first !== "get") {
    throw new UsageError(`unknown command ${JSON.stringify(first)}: the commands are seed and get (see --help)`);
  }
  const command = first;

  const positional: string[] = [];
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  let onlyPositional = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (onlyPositional || !arg.startsWith("-") || arg === "-") {
      positional.push(arg);
      continue;
    }
    if (arg === "--") {
      onlyPositional = true;
      continue;
    }
    if (arg === "--help" || arg === "-h") return { kind: "help", topic: command };
    if (!arg.startsWith("--")) throw new UsageError(`unknown option ${JSON.stringify(arg)} (options are spelled --name; see --help)`);
    const eq = arg.indexOf("=");
    const key = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = options[key];
    if (spec === undefined) throw new UsageError(`unknown option --${key} (see swarmdrop help ${command})`);
    if (!spec.commands.includes(command)) throw new UsageError(`--${key} is not an option of ${command} (see swarmdrop help ${command})`);
    if (spec.takesValue) {
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else {
        value = rest[i + 1];
        if (value === undefined || (value.startsWith("--") && value.length > 2)) throw new UsageError(`--${key} needs a value`);
        i++;
      }
      if (value === "") throw new UsageError(`--${key} needs a value`);
      values.set(key, [...(values.get(key) ?? []), value]);
    } else {
      if (eq >= 0) throw new UsageError(`--${key} takes no value`);
      flags.add(key);
    }
  }
  const single = (key: string): string | null => {
    const v = values.get(key);
    if (v === undefined) return null;
    if (v.length > 1) throw new UsageError(`--${key} given ${v.length} times; give it once`);
    return v[0]!;
  };

  const trackers = (values.get("tracker") ?? [defaultTrackerUrl]).map(checkTrackerUrl);
  const appUrl = single("app-url");
  const common: CommonOptions = {
    trackers: [...new Set(trackers)],
    stateDir: single("state-dir"),
    qr: !flags.has("no-qr"),
    appUrl: appUrl === null ? null : checkHttpUrl(appUrl),
  };

  if (command === "seed") {
    if (positional.length === 0) throw new UsageError("seed needs at least one file or folder: swarmdrop seed <paths...>");
    const pieceLengthText = single("piece-length");
    let pieceLengthBytes: number | null = null;
    if (pieceLengthText !== null) {
      pieceLengthBytes = parseByteSize(pieceLengthText);
      if ((pieceLengthBytes & (pieceLengthBytes - 1)) !== 0 || pieceLengthBytes < 16 * KiB || pieceLengthBytes > 4 * MiB) {
        throw new UsageError(`--piece-length must be a power of two from 16 KiB to 4 MiB, got ${pieceLengthBytes}`);
      }
    }
    const name = single("name");
    if (name !== null && (name === "." || name === ".." || /[/\\\0]/.test(name))) {
      throw new UsageError(`--name ${JSON.stringify(name)} must be a plain name without / or \\`);
    }
    return { kind: "seed", ...common, paths: positional, resume: flags.has("resume"), name, pieceLengthBytes, torrentOut: single("torrent-out"), superSeed: flags.has("super-seed") };
  }
  if (positional.length === 0) throw new UsageError("get needs a link: swarmdrop get <link|magnet|.torrent>");
  if (positional.length > 1) throw new UsageError(`get takes one link, got ${positional.length} (quote a link that contains & in your shell)`);
  return { kind: "get", ...common, source: positional[0]!, outDir: single("out") ?? ".", seed: flags.has("seed") };
}
