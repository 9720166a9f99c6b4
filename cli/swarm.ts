// Joins the swarm: the torrent session (core/engine/session.ts) over WebRTC
// data channels (simple-peer + @roamhq/wrtc) found through the WebSocket
// tracker. Those parts are not in this build yet, so runSwarm says so.
import type { InfoHash } from "../core/ids.ts";
import type { TorrentInfo } from "../core/metainfo.ts";
import type { Bitfield } from "../core/wire/bitfield.ts";
import { EngineUnavailableError } from "./errors.ts";
import type { FileStore } from "./file-store.ts";

export interface SwarmRunInit {
  readonly mode: "seed" | "download";
  readonly infoHash: InfoHash;
  /** null when joining from a magnet link (the info dict then comes from peers, BEP 9). */
  readonly info: TorrentInfo | null;
  readonly trackers: readonly string[];
  /** null until the info dict is known. */
  readonly store: FileStore | null;
  /** Pieces already verified on disk. */
  readonly verified: Bitfield | null;
  /** Keep seeding after a download completes. */
  readonly seedAfterDownload: boolean;
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/** Runs until the download completes (and seeding is not wanted) or the signal aborts. */
export async function runSwarm(init: SwarmRunInit): Promise<void> {
  const what = init.mode === "seed" ? "seeding" : "downloading";
  throw new EngineUnavailableError(
    `${what} needs the swarm engine, which is not available in this build yet ` +
      "(missing: the torrent session core/engine/session.ts, the Node WebRTC transport and the tracker client). " +
      (init.mode === "seed" ? "The share link above is final: it will not change once seeding works." : "Nothing was downloaded."),
  );
}
