// One transfer: name, status, progress, speeds, ETA, ratio, share link, files,
// piece map, speed chart and peers; pause/resume, zip and remove (confirmed).
import { useEffect, useRef, useState } from "react";
import { useActions, useSwarm } from "../state/context.tsx";
import { FileList } from "./FileList.tsx";
import { formatBytes, formatDuration, formatPercent, formatRate, formatRatio, percentValue } from "./format.ts";
import { PeersTable } from "./PeersTable.tsx";
import { PieceMap } from "./PieceMap.tsx";
import { distributedCopies } from "./pieceMapModel.ts";
import { saveStream } from "./save.ts";
import { ShareCard } from "./ShareCard.tsx";
import { SpeedChart } from "./SpeedChart.tsx";
import { needsClock, statusLabel, transferMessages } from "./transferModel.ts";
import { useNow } from "./useNow.ts";

/** value null: indeterminate (no aria-valuenow), for work whose size is not known yet. */
export function ProgressBar({ label, value, text }: { readonly label: string; readonly value: number | null; readonly text: string }) {
  return (
    <div className="progress">
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        {...(value === null ? {} : { "aria-valuenow": value })}
        aria-valuetext={text}
        className={value === null ? "bar indeterminate" : "bar"}
      >
        {/* Scaled, not sized: a transform animates on the compositor, where an animated width re-laid out and repainted the page every frame of a transfer (profiled). */}
        <div className="fill" style={value === null ? undefined : { transform: `scaleX(${Math.max(0, Math.min(100, value)) / 100})` }} />
      </div>
      <span className="progress-text">{text}</span>
    </div>
  );
}

function Stat({ label, value, title }: { readonly label: string; readonly value: string; readonly title?: string }) {
  return (
    <div className="stat" title={title}>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

export function TransferCard({ infoHash, highlight = false }: { readonly infoHash: string; readonly highlight?: boolean }) {
  const view = useSwarm((s) => s.transfers.get(infoHash));
  const pending = useSwarm((s) => s.pendingShares);
  const manager = useSwarm((s) => s.manager);
  const actions = useActions();
  const [confirming, setConfirming] = useState(false);
  const [zipping, setZipping] = useState(false);
  const now = useNow(view ? needsClock(view) : false);
  const sectionRef = useRef<HTMLElement>(null);
  const shown = view !== undefined && view.status !== "hashing";
  useEffect(() => {
    // The share this page just made: bring its link into view (on phones it is below the drop zone).
    if (highlight && shown && typeof sectionRef.current?.scrollIntoView === "function") sectionRef.current.scrollIntoView({ block: "start", behavior: "smooth" });
  }, [highlight, shown]);
  if (!view) return null;

  const fraction = view.totalBytes > 0 ? view.verifiedBytes / view.totalBytes : view.status === "seeding" ? 1 : 0;
  const complete = view.status === "seeding" || (view.totalBytes > 0 && view.verifiedBytes >= view.totalBytes);
  const messages = transferMessages(view, now);
  const headingId = `t-${view.infoHash}`;
  const hashingShare = view.status === "hashing" ? (pending.find((p) => p.name === view.name) ?? (pending.length === 1 ? pending[0] : undefined)) : undefined;

  const removeTransfer = async () => {
    await actions.remove(view.infoHash);
    // A link to it left in the address bar would add it again on reload.
    if (window.location.hash.toLowerCase().includes(view.infoHash.toLowerCase())) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
  };

  const saveZip = async () => {
    setZipping(true);
    try {
      await saveStream(() => manager.zipStream(view.infoHash), `${view.name}.zip`, "application/zip");
    } catch (error) {
      actions.notify("error", `Could not save “${view.name}” as a zip`, error instanceof Error ? error.message : String(error));
    } finally {
      setZipping(false);
    }
  };

  return (
    <section ref={sectionRef} className={`card transfer${highlight ? " highlight" : ""}`} aria-label={view.name} data-status={view.status}>
      <header className="transfer-head">
        <h2 id={headingId}>{view.name}</h2>
        <span className={`badge status-${view.status}`}>{statusLabel[view.status]}</span>
      </header>

      {view.status === "hashing" ? (
        <div className="hashing">
          <ProgressBar
            label={`Hashing ${view.name}`}
            value={view.hashing ? percentValue(view.hashing.doneBytes, view.hashing.totalBytes) : null}
            text={view.hashing ? `Hashing ${formatBytes(view.hashing.doneBytes)} of ${formatBytes(view.hashing.totalBytes)}` : "Hashing…"}
          />
          {hashingShare ? (
            <button type="button" className="secondary" onClick={() => actions.cancelShare(hashingShare.id)}>
              Cancel
            </button>
          ) : null}
        </div>
      ) : (
        <ProgressBar
          label={`${view.name} progress`}
          value={complete ? 100 : view.totalBytes > 0 ? percentValue(view.verifiedBytes, view.totalBytes) : 0}
          text={
            view.totalBytes > 0
              ? `${formatBytes(view.verifiedBytes)} of ${formatBytes(view.totalBytes)} (${formatPercent(complete ? 1 : fraction)})`
              : view.status === "fetching-metadata" || view.status === "connecting"
                ? "Size not known yet"
                : formatPercent(complete ? 1 : fraction)
          }
        />
      )}

      {view.status === "hashing" ? null : (
        <>
          {highlight && view.shareLink ? <ShareCard link={view.shareLink} showQr /> : null}

          {messages.length > 0 ? (
            <ul className="messages" aria-live="polite">
              {messages.map((m) => (
                <li key={m.text.slice(0, 40)} className={`message ${m.kind}`} role={m.kind === "error" ? "alert" : undefined}>
                  {m.text}
                </li>
              ))}
            </ul>
          ) : null}

          <dl className="stats">
            <Stat label="Download" value={formatRate(view.downloadRateBytesPerS)} />
            <Stat label="Upload" value={formatRate(view.uploadRateBytesPerS)} />
            <Stat label="ETA" value={complete ? "done" : view.status === "paused" || view.status === "error" ? "—" : formatDuration(view.etaS)} />
            <Stat label="Ratio" value={formatRatio(view.uploadedBytes, view.downloadedBytes)} />
            <Stat label="Peers" value={String(view.peers.length)} />
            <Stat label="Uploaded" value={formatBytes(view.uploadedBytes)} />
        <Stat label="Stored" value={formatBytes(view.storedBytes)} title="Kept in this browser, so the transfer resumes after a reload" />
            {view.pieceCount > 0 ? (
              <Stat label="Availability" value={distributedCopies(view.availability).toFixed(2)} title="Distributed copies: complete copies the connected peers hold between them; from 1.00 every piece is on some peer" />
            ) : null}
          </dl>

          {!highlight && view.shareLink ? <ShareCard link={view.shareLink} showQr={false} /> : null}

          {view.files.length > 0 ? (
            <div className="block">
              <div className="block-head">
                <h3>
                  {view.files.length === 1 ? "File" : `${view.files.length} files`} · {formatBytes(view.totalBytes)}
                </h3>
                {view.files.length > 1 && complete ? (
                  <button type="button" className="secondary" onClick={() => void saveZip()} disabled={zipping}>
                    {zipping ? "Zipping…" : "Save all as zip"}
                  </button>
                ) : null}
              </div>
              <FileList infoHash={view.infoHash} files={view.files} />
            </div>
          ) : null}

          <div className="block two-col">
            <div>
              <h3>Pieces</h3>
              <PieceMap pieceStates={view.pieceStates} availability={view.availability} />
            </div>
            <div>
              <h3>Speed</h3>
              <SpeedChart history={view.speedHistory} />
              <p className="legend small">
                <span className="key-down">■ download</span> <span className="key-up">■ upload</span>
              </p>
            </div>
          </div>

          <div className="block">
            <PeersTable peers={view.peers} />
          </div>

          <footer className="transfer-actions">
            {view.status === "paused" ? (
              <button type="button" onClick={() => actions.resume(view.infoHash)}>
                Resume
              </button>
            ) : view.status !== "error" ? (
              <button type="button" className="secondary" onClick={() => actions.pause(view.infoHash)}>
                Pause
              </button>
            ) : null}
            {confirming ? (
              <div role="alertdialog" aria-label={`Remove ${view.name}?`} className="confirm">
                <span>
                  Remove “{view.name}” and its {formatBytes(view.storedBytes)} of stored data from this browser?
                </span>
                <button type="button" className="danger" onClick={() => void removeTransfer()}>
                  Remove
                </button>
                <button type="button" className="secondary" autoFocus onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </div>
            ) : (
              <button type="button" className="secondary" onClick={() => setConfirming(true)}>
                Remove…
              </button>
            )}
          </footer>
        </>
      )}
    </section>
  );
}

/** A share still being hashed before the manager lists it. */
export function PendingShareCard({ id }: { readonly id: number }) {
  const share = useSwarm((s) => s.pendingShares.find((p) => p.id === id));
  const actions = useActions();
  if (!share) return null;
  return (
    <section className="card transfer" aria-label={share.name}>
      <header className="transfer-head">
        <h2>{share.name}</h2>
        <span className="badge status-hashing">Hashing</span>
      </header>
      <div className="hashing">
        <ProgressBar label={`Hashing ${share.name}`} value={null} text={`Hashing ${share.fileCount} ${share.fileCount === 1 ? "file" : "files"}, ${formatBytes(share.totalBytes)}`} />
        <button type="button" className="secondary" onClick={() => actions.cancelShare(share.id)}>
          Cancel
        </button>
      </div>
    </section>
  );
}
