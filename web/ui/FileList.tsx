// The files of a transfer with their sizes and progress; each complete file
// can be saved, and audio/video played as soon as the file list is known: while
// it downloads (the stream Service Worker), or where that cannot run, once complete.
import { useEffect, useState } from "react";
import { useActions, useSwarm } from "../state/context.tsx";
import type { FileView } from "../swarm/types.ts";
import { mediaKind } from "../sw/http-range.ts";
import { formatBytes, formatPercent } from "./format.ts";
import { saveBlob } from "./save.ts";

/** Paths shown without the torrent's own folder when every file sits in it. */
export function displayPaths(files: readonly FileView[]): string[] {
  const tops = new Set(files.map((f) => (f.path.includes("/") ? f.path.split("/")[0] : null)));
  const [only] = tops;
  const strip = files.length > 0 && tops.size === 1 && typeof only === "string";
  return files.map((f) => (strip ? f.path.slice((only as string).length + 1) : f.path));
}

function baseName(path: string): string {
  return path.split("/").at(-1) ?? path;
}

function FileRow({ infoHash, file, shown, choosable }: { readonly infoHash: string; readonly file: FileView; readonly shown: string; readonly choosable: boolean }) {
  const actions = useActions();
  const manager = useSwarm((s) => s.manager);
  const [busy, setBusy] = useState(false);
  const [player, setPlayer] = useState<string | null>(null);
  const [buffering, setBuffering] = useState(false);
  const [playerError, setPlayerError] = useState<string | null>(null);
  /** Why this page plays files only once complete; null when it streams (or not known yet). */
  const [wholeFileReason, setWholeFileReason] = useState<string | null>(null);
  const isVideo = mediaKind(file.path) === "video";
  const waitsForWhole = file.streamable && !file.complete && wholeFileReason !== null;

  useEffect(() => {
    if (!file.streamable) return;
    let live = true;
    void manager.streamingSupport().then(
      (reason) => {
        if (live) setWholeFileReason(reason);
      },
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [manager, file.streamable]);

  const save = async () => {
    setBusy(true);
    try {
      const blob = await manager.fileBlob(infoHash, file.index);
      saveBlob(blob, baseName(file.path));
    } catch (error) {
      actions.notify("error", `Could not save “${shown}”`, error instanceof Error ? error.message : String(error));
    } finally {
      setBusy(false);
    }
  };

  const play = async () => {
    setBuffering(true);
    setPlayerError(null);
    try {
      setPlayer(await manager.streamUrl(infoHash, file.index));
    } catch (error) {
      actions.notify("error", `Could not play “${shown}”`, error instanceof Error ? error.message : String(error));
    } finally {
      setBuffering(false);
    }
  };

  return (
    <li className="file-row">
      <div className="file-main">
        <span className="file-name" title={file.path}>
          {shown}
        </span>
        <span className="muted small">
          {formatBytes(file.lengthBytes)}
          {file.complete ? "" : ` · ${formatPercent(file.progress)}`}
          {file.priority === "skip" ? " · skipped" : ""}
        </span>
      </div>
      <div className="file-actions">
        {file.complete ? (
          <button type="button" onClick={() => void save()} disabled={busy}>
            {busy ? "Preparing…" : `Save ${shown}`}
          </button>
        ) : (
          <progress max={1} value={file.progress} aria-label={`File progress: ${shown}`} />
        )}
        {file.streamable && !player ? (
          <button type="button" className="secondary" onClick={() => void play()} disabled={buffering}>
            {buffering ? (waitsForWhole ? `Waiting for all of ${shown}…` : `Buffering ${shown}…`) : `Play ${shown}`}
          </button>
        ) : null}
        {player ? (
          <button type="button" className="secondary" onClick={() => setPlayer(null)}>
            {`Close player ${shown}`}
          </button>
        ) : null}
        {!file.complete && choosable ? (
          <select
            aria-label={`Priority of ${shown}`}
            value={file.priority}
            onChange={(e) => actions.setFilePriority(infoHash, file.index, e.currentTarget.value as FileView["priority"])}
          >
            <option value="high">First</option>
            <option value="normal">Normal</option>
            <option value="skip">Skip</option>
          </select>
        ) : null}
      </div>
      {waitsForWhole && !player ? (
        <p className="muted small stream-note">
          Plays once downloaded: playing while downloading is unavailable because {wholeFileReason}.
        </p>
      ) : null}
      {player ? (
        isVideo ? (
          <video className="player" src={player} controls autoPlay aria-label={`Playing ${shown}`} onError={(e) => setPlayerError(mediaErrorText(e.currentTarget))} />
        ) : (
          <audio className="player" src={player} controls autoPlay aria-label={`Playing ${shown}`} onError={(e) => setPlayerError(mediaErrorText(e.currentTarget))} />
        )
      ) : null}
      {player && playerError !== null ? (
        <p role="alert" className="small stream-note">
          {`The player stopped: ${playerError}. Close the player and press Play to try again; the download goes on.`}
        </p>
      ) : null}
    </li>
  );
}

/** Words for a media element's error (the browser says little). */
function mediaErrorText(media: HTMLMediaElement): string {
  const error = media.error;
  if (error === null) return "unknown error";
  const what =
    error.code === 1
      ? "playback was aborted"
      : error.code === 2
        ? "the bytes stopped arriving"
        : error.code === 3
          ? "the file could not be decoded"
          : "this browser cannot play this kind of file";
  return error.message ? `${what} (${error.message})` : what;
}

/** `choosable`: several files, so a person may pick which come first or are skipped. */
export function FileList({ infoHash, files }: { readonly infoHash: string; readonly files: readonly FileView[] }) {
  const shown = displayPaths(files);
  const choosable = files.length > 1;
  return (
    <ul className="file-list" aria-label="Files">
      {files.map((file, i) => (
        <FileRow key={file.index} infoHash={infoHash} file={file} shown={shown[i] ?? file.path} choosable={choosable} />
      ))}
    </ul>
  );
}
