// The headless SwarmDrop peer: `swarmdrop seed <paths...>` and `swarmdrop get <link>`.
// main() is testable (argv, output streams and an abort signal go in, an exit
// code comes out); the bottom of the file wires it to the process.
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { SessionSnapshot } from "../core/engine/session-types.ts";
import { encodeTorrentFile, type TorrentInfo } from "../core/metainfo.ts";
import { Bitfield } from "../core/wire/bitfield.ts";
import { ExitCode, UsageError, parseArgs, usageText, type Command, type ExitCodeValue } from "./args.ts";
import { CliError, InterruptedError, StorageError, fsReason } from "./errors.ts";
import { FileStore } from "./file-store.ts";
import { appUrlForTracker, magnetFor, resolveGetSource, shareLink, terminalQr } from "./link.ts";
import { ProgressBar, StatusLog, formatBytes, type ProgressStream } from "./progress.ts";
import {
  defaultStateDir,
  downloadStateFile,
  loadState,
  makeDownloadState,
  makeSeedState,
  matchDownloadState,
  matchSeedState,
  saveState,
  savedDownloadInfo,
  seedStateFile,
  stampFiles,
} from "./resume.ts";
import { collectSources, hashSources } from "./source-files.ts";
import { runSwarm, statusLine } from "./swarm.ts";

export const version = "0.1.0";

export interface MainIo {
  readonly stdout: ProgressStream;
  readonly stderr: ProgressStream;
  readonly signal: AbortSignal;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

type SeedCommand = Extract<Command, { kind: "seed" }>;
type GetCommand = Extract<Command, { kind: "get" }>;

async function printShare(io: MainIo, info: TorrentInfo, command: SeedCommand | GetCommand): Promise<void> {
  const appUrl = command.appUrl ?? appUrlForTracker(command.trackers[0]!);
  const link = shareLink(info, command.trackers, appUrl);
  io.stdout.write(`\nShare link:\n  ${link}\n\nMagnet link (any WebTorrent client):\n  ${magnetFor(info, command.trackers)}\n\n`);
  if (command.qr) io.stdout.write(`${await terminalQr(link)}\n`);
}

async function seed(command: SeedCommand, io: MainIo): Promise<void> {
  const sources = await collectSources(command.paths, command.name);
  io.stderr.write(`${sources.files.length} file${sources.files.length === 1 ? "" : "s"}, ${formatBytes(sources.totalLength)}\n`);
  const stateDir = command.stateDir ?? defaultStateDir(io.env);
  const stateFile = seedStateFile(stateDir, sources);

  let info: TorrentInfo | null = null;
  if (command.resume) {
    const saved = await loadState(stateFile);
    const match = saved.ok ? await matchSeedState(saved.value, sources, command.pieceLengthBytes) : saved;
    if (match.ok) {
      info = match.value;
      io.stderr.write("resume: files unchanged since the last run, skipping hashing\n");
    } else {
      io.stderr.write(`resume: hashing again (${match.reason})\n`);
    }
  }
  if (info === null) {
    const bar = new ProgressBar(io.stderr, "hashing");
    try {
      info = await hashSources(sources, { pieceLength: command.pieceLengthBytes, onProgress: (p) => bar.update(p.doneBytes, p.totalBytes), signal: io.signal });
    } finally {
      bar.finish();
    }
    try {
      await saveState(stateFile, makeSeedState(sources, info));
    } catch (err) {
      if (!(err instanceof StorageError)) throw err;
      io.stderr.write(`warning: ${err.message} (--resume will hash again)\n`);
    }
  }
  io.stderr.write(`torrent ${info.infoHash}: ${info.pieceCount} pieces of ${formatBytes(info.pieceLength)}\n`);
  if (command.torrentOut !== null) {
    try {
      await writeFile(command.torrentOut, encodeTorrentFile(info, { announce: command.trackers, createdBy: `SwarmDrop ${version}` }));
    } catch (err) {
      throw new StorageError(`cannot write ${command.torrentOut}: ${fsReason(err)}`);
    }
    io.stderr.write(`wrote ${command.torrentOut}\n`);
  }
  await printShare(io, info, command);

  const store = FileStore.forSeed(info, sources.files.map((f) => f.absPath));
  const out = new StatusLog(io.stderr);
  try {
    await runSwarm({
      mode: "seed",
      infoHash: info.infoHash,
      info,
      trackers: command.trackers,
      store,
      verified: Bitfield.full(info.pieceCount),
      seedAfterDownload: true,
      ...(command.superSeed ? { settings: { superSeeding: "auto" as const } } : {}),
      signal: io.signal,
      log: (line) => out.log(line),
      ...(out.isTTY ? { onStatus: (s: SessionSnapshot) => out.status(statusLine(s, "seed")) } : {}),
    });
  } finally {
    out.finish();
    await store.close();
  }
}

async function get(command: GetCommand, io: MainIo): Promise<void> {
  const source = await resolveGetSource(command.source);
  const outDir = resolve(command.outDir);
  const stateDir = command.stateDir ?? defaultStateDir(io.env);
  const saveProgress = async (info: TorrentInfo, store: FileStore, verified: Bitfield): Promise<void> =>
    saveState(downloadStateFile(stateDir, info, outDir), makeDownloadState(info, outDir, await stampFiles(store.paths), verified));
  const out = new StatusLog(io.stderr);
  const log = (line: string): void => out.log(line);
  const onStatus = out.isTTY ? { onStatus: (s: SessionSnapshot) => out.status(statusLine(s, "download")) } : {};

  let info: TorrentInfo | null;
  let trackers: string[];
  if (source.kind === "torrent") {
    info = source.torrent.info;
    trackers = source.torrent.announce.filter((u) => /^wss?:\/\//i.test(u));
  } else {
    const { link } = source;
    io.stderr.write(`link: ${link.infoHash}${link.displayName === undefined ? "" : ` "${link.displayName}"`}, ${link.trackers.length} tracker(s)\n`);
    trackers = link.trackers.filter((u) => /^wss?:\/\//i.test(u));
    // An earlier run into this folder saved the info dict: no need to fetch it again.
    const saved = await loadState(downloadStateFile(stateDir, link, outDir));
    info = saved.ok ? await savedDownloadInfo(saved.value, link.infoHash) : null;
  }
  if (trackers.length === 0) trackers = [...command.trackers];

  if (info === null) {
    let store: FileStore | null = null;
    try {
      await runSwarm({
        mode: "download",
        infoHash: source.kind === "magnet" ? source.link.infoHash : source.torrent.info.infoHash,
        info: null,
        trackers,
        store: null,
        storeFor: async (got) => {
          store = FileStore.forDownload(got, outDir);
          await store.prepare();
          return store;
        },
        verified: null,
        seedAfterDownload: command.seed,
        signal: io.signal,
        log,
        saveProgress,
        ...onStatus,
      });
      out.finish();
      const got = (store as FileStore | null)?.info;
      if (got !== undefined) io.stderr.write(`saved in ${join(outDir, got.name)}\n`);
    } finally {
      out.finish();
      await (store as FileStore | null)?.close();
    }
    return;
  }

  io.stderr.write(`torrent ${info.infoHash} "${info.name}": ${info.files.length} file(s), ${formatBytes(info.totalLength)}\n`);
  const store = FileStore.forDownload(info, outDir);
  try {
    await store.prepare();
    const stateFile = downloadStateFile(stateDir, info, outDir);
    const stamps = await stampFiles(store.paths);
    const saved = await loadState(stateFile);
    const match = saved.ok ? matchDownloadState(saved.value, info, outDir, stamps) : saved;
    let verified: Bitfield;
    if (match.ok) {
      verified = match.value;
    } else {
      const bar = new ProgressBar(io.stderr, "checking", { unit: "pieces" });
      try {
        verified = await store.scan({ onProgress: (done, count) => bar.update(done, count), signal: io.signal });
      } finally {
        bar.finish();
      }
      await saveState(stateFile, makeDownloadState(info, outDir, await stampFiles(store.paths), verified));
    }
    io.stderr.write(`${verified.count} of ${info.pieceCount} pieces already in ${outDir}\n`);
    if (verified.complete && !command.seed) {
      io.stderr.write("download already complete\n");
      return;
    }
    await runSwarm({
      mode: "download",
      infoHash: info.infoHash,
      info,
      trackers,
      store,
      verified,
      seedAfterDownload: command.seed,
      signal: io.signal,
      log,
      saveProgress,
      ...onStatus,
    });
    out.finish();
    io.stderr.write(`saved in ${join(outDir, info.name)}\n`);
  } finally {
    out.finish();
    await store.close();
  }
}

/** Runs one command line; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: MainIo): Promise<ExitCodeValue> {
  let command: Command;
  try {
    command = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`swarmdrop: ${err.message}\n`);
      return ExitCode.usage;
    }
    throw err;
  }
  try {
    switch (command.kind) {
      case "help":
        io.stdout.write(usageText);
        return ExitCode.ok;
      case "version":
        io.stdout.write(`swarmdrop ${version}\n`);
        return ExitCode.ok;
      case "seed":
        await seed(command, io);
        return ExitCode.ok;
      case "get":
        await get(command, io);
        return ExitCode.ok;
      default: {
        const unreachable: never = command;
        throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
      }
    }
  } catch (err) {
    if (err instanceof InterruptedError || io.signal.aborted) {
      io.stderr.write("\nswarmdrop: stopped\n");
      return ExitCode.interrupted;
    }
    if (err instanceof CliError) {
      io.stderr.write(`swarmdrop: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`swarmdrop: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return ExitCode.unexpected;
  }
}

/** Process wiring: Ctrl-C (or SIGTERM) stops cleanly; a second Ctrl-C exits at once. */
export async function runFromProcess(): Promise<void> {
  const controller = new AbortController();
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(ExitCode.interrupted);
    process.stderr.write("\nstopping (Ctrl-C again to quit at once)\n");
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal, env: process.env });
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  process.exitCode = code;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) await runFromProcess();
