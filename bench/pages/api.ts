// What the benchmark pages expose to the harness. The harness calls these by
// name with JSON arguments (page code is served, never serialised from Node, so
// the harness's transpiler cannot inject helpers into it).

export interface CeilingAnswerInit {
  sdp: string;
  totalBytes: number;
  seed: number;
}

export interface CeilingStartInit {
  /** Stop queueing while bufferedAmount is at or above this. */
  highWaterBytes: number;
  /** bufferedAmountLowThreshold: refill when the queue drains to this. */
  lowWaterBytes: number;
  /** Message size is min(pc.sctp.maxMessageSize, this). */
  maxMessageCapBytes: number;
}

export interface CeilingSenderInfo {
  startEpochMs: number;
  messageBytes: number;
  /** pc.sctp.maxMessageSize as the browser negotiated it. */
  sctpMaxMessageBytes: number;
}

export interface CeilingReceived {
  bytes: number;
  messages: number;
  /** Messages whose first or last word did not match the pattern at their offset. */
  badMessages: number;
  firstEpochMs: number;
  endEpochMs: number;
  /** "local address -> remote address" of the nominated ICE pair. */
  candidatePair: string;
}

export interface HashRateInit {
  totalBytes: number;
  pieceBytes: number;
  seed: number;
  /** Size of the generated buffer that is hashed over and over (keeps memory flat). */
  bufferBytes: number;
  /** Dedicated workers hashing at once, each its share of the pieces; 0 or absent: this page's main thread. */
  workers?: number;
}

export interface HashRateResult {
  bytes: number;
  durationMs: number;
  pieces: number;
}

export interface WebTorrentSeedInit {
  totalBytes: number;
  seed: number;
  name: string;
  trackerUrl: string;
  bundleUrl: string;
}

export interface WebTorrentSeedResult {
  magnetURI: string;
  infoHash: string;
  pieceLengthBytes: number;
  /** Time WebTorrent took to hash the file and start seeding. */
  seedReadyMs: number;
}

export interface WebTorrentDownloadInit {
  magnetURI: string;
  trackerUrl: string;
  bundleUrl: string;
  timeoutMs: number;
}

export interface WebTorrentDownloadResult {
  /** The torrent's length. */
  bytes: number;
  /** Payload bytes WebTorrent received (duplicates included). */
  downloadedBytes: number;
  startEpochMs: number;
  endEpochMs: number;
  peers: number;
}

export interface BenchPageApi {
  ceilingOffer(init: { totalBytes: number; seed: number }): Promise<{ sdp: string; generateMs: number }>;
  ceilingAnswer(init: CeilingAnswerInit): Promise<{ sdp: string }>;
  ceilingAccept(init: { sdp: string }): Promise<void>;
  ceilingStart(init: CeilingStartInit): CeilingSenderInfo;
  ceilingReceived(init: { timeoutMs: number }): Promise<CeilingReceived>;
  ceilingClose(): void;
  subtleSha1Rate(init: HashRateInit): Promise<HashRateResult>;
  webtorrentSeed(init: WebTorrentSeedInit): Promise<WebTorrentSeedResult>;
  webtorrentDownload(init: WebTorrentDownloadInit): Promise<WebTorrentDownloadResult>;
  webtorrentDestroy(): Promise<void>;
}

/** Injected into SwarmDrop's own pages to time its UI from inside the page. */
export interface ShareLinkShown {
  /** When the page received the files (the file input's change event, before the app's own listeners). */
  startEpochMs: number;
  /** When the share link was first in the page: a DOM mutation or an animation frame showed it. */
  epochMs: number;
  value: string;
  /** The app's own User Timing marks named "swarmdrop:*" (the latest of each), as epoch ms. */
  marks: Record<string, number>;
}

export interface AppDriverApi {
  /** Resolves when the text field holds a non-empty value. */
  waitForValue(field: HTMLInputElement | HTMLTextAreaElement, init: { timeoutMs: number }): Promise<{ epochMs: number; value: string }>;
  /**
   * Starts watching, before files are added, for the "Share link" field of the
   * region named `regionName` to hold a link; shareLinkShown() then resolves.
   */
  armShareLink(init: { regionName: string; timeoutMs: number }): void;
  shareLinkShown(): Promise<ShareLinkShown>;
  /** Resolves when the progressbar's aria-valuenow reaches 100; also says when it first rose above 0. */
  waitForComplete(progressbar: Element, init: { timeoutMs: number; stallMs: number }): Promise<{ epochMs: number; firstProgressEpochMs: number | null }>;
  epochMs(): number;
}

declare global {
  interface Window {
    swarmBench?: BenchPageApi;
    swarmBenchApp?: AppDriverApi;
  }
}

/** Milliseconds since the Unix epoch with sub-millisecond resolution, comparable across pages. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}
