// Where sharing and joining start: drop files or a folder (or pick them), drop
// a .torrent, or paste a share link. The zone is a keyboard-reachable button.
import { useId, useRef, useState, type DragEvent, type FormEvent, type KeyboardEvent } from "react";
import { useActions } from "../state/context.tsx";
import type { SharedFile } from "../state/store.ts";
import { filesFromDrop, filesFromInput, torrentFileOf } from "./collectFiles.ts";

export function DropZone() {
  const actions = useActions();
  const filesRef = useRef<HTMLInputElement>(null);
  const [dragging, setDragging] = useState(false);
  const [link, setLink] = useState("");
  const hintId = useId();

  const take = (files: SharedFile[]) => {
    if (files.length === 0) {
      actions.notify("error", "Nothing to share", "The drop held no files: an empty folder, or something that is not a file.");
      return;
    }
    const torrent = torrentFileOf(files);
    if (torrent) void actions.open({ torrentFile: torrent });
    else void actions.share(files);
  };

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    filesFromDrop(event.dataTransfer).then(take, (error: unknown) =>
      actions.notify("error", "Could not read the dropped files", error instanceof Error ? error.message : String(error)),
    );
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      filesRef.current?.click();
    }
  };

  const onOpenLink = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = link.trim();
    if (!text) return;
    void actions.open({ link: text }).then((hash) => {
      if (hash) setLink("");
    });
  };

  return (
    <section className="start" aria-label="Share or join">
      <div
        className={`drop-zone${dragging ? " dragging" : ""}`}
        role="button"
        tabIndex={0}
        aria-describedby={hintId}
        aria-label="Drop files or a folder here to share them, or press Enter to pick files"
        onClick={() => filesRef.current?.click()}
        onKeyDown={onKeyDown}
        onDragOver={(e) => {
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <svg viewBox="0 0 24 24" aria-hidden="true" className="drop-icon">
          <path d="M12 3v12m0-12-4 4m4-4 4 4M4 15v4a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-4" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
        <strong>Drop files or a folder to share</strong>
        <span id={hintId} className="muted">
          They are hashed here, in your browser, and sent straight to whoever opens the link. A .torrent file opens it.
        </span>
      </div>
      <div className="pickers">
        <label className="button">
          Add files
          <input
            ref={filesRef}
            type="file"
            multiple
            className="visually-hidden-input"
            onChange={(e) => {
              take(filesFromInput(e.currentTarget.files ?? []));
              e.currentTarget.value = "";
            }}
          />
        </label>
        <label className="button">
          Add folder
          <input
            type="file"
            multiple
            // @ts-expect-error webkitdirectory is a non-standard attribute React passes through
            webkitdirectory=""
            className="visually-hidden-input"
            onChange={(e) => {
              take(filesFromInput(e.currentTarget.files ?? []));
              e.currentTarget.value = "";
            }}
          />
        </label>
        <label className="button secondary">
          Open .torrent
          <input
            type="file"
            accept=".torrent,application/x-bittorrent"
            className="visually-hidden-input"
            onChange={(e) => {
              const file = e.currentTarget.files?.[0];
              if (file) void actions.open({ torrentFile: file });
              e.currentTarget.value = "";
            }}
          />
        </label>
      </div>
      <form className="open-link" onSubmit={onOpenLink}>
        <label htmlFor={`${hintId}-link`}>Open a share link</label>
        <div className="row">
          <input
            id={`${hintId}-link`}
            type="text"
            inputMode="url"
            autoComplete="off"
            spellCheck={false}
            placeholder="https://…/#magnet:?xt=urn:btih:…"
            value={link}
            onChange={(e) => setLink(e.currentTarget.value)}
          />
          <button type="submit">Open</button>
        </div>
      </form>
    </section>
  );
}
