// The files of a transfer with their sizes and progress; each complete file
// can be saved, and audio/video played while it downloads.
import { useState } from "react";
import { useActions, useSwarm } from "../state/context.tsx";
import type { FileView } from "../swarm/types.ts";
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

function FileRow({ infoHash, file, shown }: { readonly infoHash: string; readonly file: FileView; readonly shown: string }) {
  const actions = useActions();
  const manager = useSwarm((s) => s.manager);
  const [busy, setBusy] = useState(false);
  const [player, setPlayer] = useState<string | null>(null);
  const isVideo = /\.(mp4|m4v|webm|mov|ogv|mkv)$/i.test(file.path);

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
    try {
      setPlayer(await manager.streamUrl(infoHash, file.index));
    } catch (error) {
      actions.notify("error", `Could not play “${shown}”`, error instanceof Error ? error.message : String(error));
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
          <progress max={1} value={file.progress} aria-label={`${shown} progress`} />
        )}
        {file.streamable && !player ? (
          <button type="button" className="secondary" onClick={() => void play()}>
            Play {shown}
          </button>
        ) : null}
      </div>
      {player ? (
        isVideo ? (
          <video className="player" src={player} controls autoPlay aria-label={`Playing ${shown}`} />
        ) : (
          <audio className="player" src={player} controls autoPlay aria-label={`Playing ${shown}`} />
        )
      ) : null}
    </li>
  );
}

export function FileList({ infoHash, files }: { readonly infoHash: string; readonly files: readonly FileView[] }) {
  const shown = displayPaths(files);
  return (
    <ul className="file-list" aria-label="Files">
      {files.map((file, i) => (
        <FileRow key={file.index} infoHash={infoHash} file={file} shown={shown[i] ?? file.path} />
      ))}
    </ul>
  );
}
