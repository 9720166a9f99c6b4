// Pure wording for one transfer's state: the status label and the messages a
// person must understand (tracker retrying, no peers, corrupt data, storage).
import type { TrackerView, TransferStatus, TransferView } from "../swarm/types.ts";
import { formatBytes } from "./format.ts";

export const statusLabel: Record<TransferStatus, string> = {
  hashing: "Hashing",
  connecting: "Connecting",
  "fetching-metadata": "Getting the file list",
  downloading: "Downloading",
  seeding: "Seeding",
  paused: "Paused",
  error: "Error",
};

export const waitingForPeers = "Waiting for peers — keep this page open on the sharing device";

export interface TransferMessage {
  readonly kind: "error" | "warning" | "info";
  readonly text: string;
}

function trackerHost(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

/** The tracker client's own reason, without its static "; retrying in N s" (the countdown replaces it). */
function trackerReason(message: string | null): string | null {
  if (!message) return null;
  const reason = message.replace(/[;,]?\s*retrying in \d+(?:\.\d+)?\s*(?:s|ms|seconds?)\b\.?/i, "").trim();
  return reason || null;
}

export function trackerMessage(tracker: TrackerView, nowMs: number): TransferMessage | null {
  const host = trackerHost(tracker.url);
  const reason = trackerReason(tracker.message) ?? `cannot reach ${tracker.url}`;
  if (tracker.state === "retrying") {
    const seconds = tracker.retryAtMs === null ? null : Math.max(0, Math.ceil((tracker.retryAtMs - nowMs) / 1000));
    const when = seconds === null ? "Retrying soon" : seconds === 0 ? "Retrying now" : `Retrying in ${seconds} s`;
    return { kind: "warning", text: `Tracker ${host} unreachable (${reason}). ${when}; peers already connected keep going.` };
  }
  if (tracker.state === "failed") return { kind: "error", text: `Tracker ${host} failed (${reason}). New peers cannot find this transfer through it.` };
  return null;
}

/** Ends a message with a full stop when it has no punctuation of its own. */
function withStop(text: string): string {
  return /[.!?)]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`;
}

/** Only a full store keeps what is stored and asks for space; other storage failures must not claim so. */
function pausedMessage(view: TransferView): TransferMessage {
  const message = view.message;
  if (!message) return { kind: "info", text: "Paused. Press Resume to continue." };
  const full = view.fault === "storage-full" || (view.fault === undefined && /\b(storage is full|quota)\b/i.test(message));
  if (!full) return { kind: "warning", text: /\bresume\b/i.test(message) ? `Paused: ${withStop(message)}` : `Paused: ${withStop(message)} Press Resume to try again.` };
  return {
    kind: "warning",
    // The manager may already say what is kept; say it once.
    text: /\bkept\b|nothing is lost/i.test(message)
      ? `Paused: ${withStop(message)}`
      : `Paused: ${withStop(message)} Nothing is lost: the pieces already stored are kept. Free some space, then press Resume.`,
  };
}

export function transferMessages(view: TransferView, nowMs: number): TransferMessage[] {
  const out: TransferMessage[] = [];
  if (view.status === "error") out.push({ kind: "error", text: view.message ? withStop(view.message) : "This transfer stopped because of an error." });
  if (view.status === "paused") out.push(pausedMessage(view));
  if (view.status !== "error" && view.status !== "paused" && view.message) out.push({ kind: "warning", text: withStop(view.message) });
  for (const tracker of view.trackers) {
    const m = trackerMessage(tracker, nowMs);
    if (m) out.push(m);
  }
  const active = view.status === "connecting" || view.status === "fetching-metadata" || view.status === "downloading";
  if (active && view.peers.length === 0) out.push({ kind: "info", text: waitingForPeers });
  if (view.status === "seeding" && view.peers.length === 0) out.push({ kind: "info", text: "Seeding. Keep this page open so others can download." });
  const lost = lostPiecesMessage(view);
  if (lost) out.push(lost);
  const unavailable = unavailableMessage(view);
  if (unavailable) out.push(unavailable);
  if (view.bannedPeerCount > 0) {
    const n = view.bannedPeerCount;
    out.push({
      kind: "warning",
      text: `${n} ${n === 1 ? "peer" : "peers"} sent corrupt data and ${n === 1 ? "was" : "were"} banned. Bad pieces were thrown away and fetched again from others.`,
    });
  }
  return out;
}

/** This browser's stored copy lost pieces it was sharing (storage cleared under the page). */
function lostPiecesMessage(view: TransferView): TransferMessage | null {
  const n = view.lostPieceCount;
  if (n <= 0 || view.status === "hashing" || view.status === "error") return null;
  const one = n === 1;
  return {
    kind: "warning",
    text: `${n} ${one ? "piece" : "pieces"} of “${view.name}” ${one ? "is" : "are"} no longer in this browser's storage (cleared by the browser or another tab); ${one ? "it" : "they"} will be downloaded again from peers.`,
  };
}

/** Peers are connected, but none can give some of the pieces still missing. */
function unavailableMessage(view: TransferView): TransferMessage | null {
  const n = view.unavailablePieceCount;
  if (n <= 0 || view.status !== "downloading" || view.peers.length === 0) return null;
  const one = n === 1;
  return {
    kind: "warning",
    text: `${n} ${one ? "piece" : "pieces"} (${formatBytes(view.unavailableBytes)}) ${one ? "is" : "are"} not available from any connected peer; waiting for a peer that has ${one ? "it" : "them"}.`,
  };
}

/** Whether the countdown needs a ticking clock. */
export function needsClock(view: TransferView): boolean {
  return view.trackers.some((t) => t.state === "retrying" && t.retryAtMs !== null);
}
