// Named errors of the headless peer; each knows the exit code that reports it.
import { ExitCode, type ExitCodeValue } from "./args.ts";

export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCodeValue;
}

/** An input path is missing, unreadable, or holds nothing to share. */
export class UnreadablePathError extends CliError {
  override name = "UnreadablePathError";
  readonly exitCode = ExitCode.unreadablePath;
}

/** A link, magnet or .torrent could not be used. */
export class BadLinkError extends CliError {
  override name = "BadLinkError";
  readonly exitCode = ExitCode.badLink;
}

/** Reading or writing the download folder or state files failed. */
export class StorageError extends CliError {
  override name = "StorageError";
  readonly exitCode = ExitCode.storage;
}

/** A part of the swarm engine is missing on this machine (WebRTC for Node: @roamhq/wrtc). */
export class EngineUnavailableError extends CliError {
  override name = "EngineUnavailableError";
  readonly exitCode = ExitCode.engineUnavailable;
}

/** No tracker or peer could be reached. */
export class NetworkError extends CliError {
  override name = "NetworkError";
  readonly exitCode = ExitCode.network;
}

/** Ctrl-C or SIGTERM. */
export class InterruptedError extends CliError {
  override name = "InterruptedError";
  readonly exitCode = ExitCode.interrupted;
  constructor() {
    super("stopped");
  }
}

/** Node's errno code of a failed fs call, if any. */
export function errnoCode(err: unknown): string | null {
  if (typeof err === "object" && err !== null && "code" in err && typeof err.code === "string") return err.code;
  return null;
}

/** A short human reason for an fs error ("no such file or directory", "permission denied", ...). */
export function fsReason(err: unknown): string {
  switch (errnoCode(err)) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a folder";
    case "ENOTDIR":
      return "a part of the path is not a folder";
    case "ENOSPC":
      return "the disk is full";
    case "EROFS":
      return "the file system is read-only";
    case "EMFILE":
    case "ENFILE":
      return "too many open files";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
