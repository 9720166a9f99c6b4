// Share links in, share links out: what `get` accepts and what `seed` prints.
import { readFile } from "node:fs/promises";
import QRCode from "qrcode";
import { MagnetError, formatMagnet, parseShareFragment, type MagnetLink } from "../core/magnet.ts";
import { MetainfoError, parseTorrentFile, type ParsedTorrentFile, type TorrentInfo } from "../core/metainfo.ts";
import { BadLinkError, errnoCode, fsReason } from "./errors.ts";

/** The web app's URL for a tracker: the tracker serves the app on the same port (ws -> http, wss -> https). */
export function appUrlForTracker(trackerUrl: string): string {
  const url = new URL(trackerUrl);
  const protocol = url.protocol === "wss:" ? "https:" : "http:";
  return `${protocol}//${url.host}/`;
}

/** `<app>/#magnet:?xt=urn:btih:<hex>&dn=<name>&xl=<bytes>&tr=<ws url>...` (web/swarm/types.ts shareLink). */
export function shareLink(info: Pick<TorrentInfo, "infoHash" | "name" | "totalLength">, trackers: readonly string[], appUrl: string): string {
  const base = appUrl.split("#")[0]!;
  return `${base}#${magnetFor(info, trackers)}`;
}

export function magnetFor(info: Pick<TorrentInfo, "infoHash" | "name" | "totalLength">, trackers: readonly string[]): string {
  return formatMagnet({ infoHash: info.infoHash, displayName: info.name, exactLength: info.totalLength, trackers, webSeeds: [] });
}

/** A QR code of `text` drawn with block characters, for a terminal. */
export async function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: "terminal", small: true });
}

export type GetSource =
  | { readonly kind: "magnet"; readonly link: MagnetLink }
  | { readonly kind: "torrent"; readonly path: string; readonly torrent: ParsedTorrentFile };

const looksLikeLink = (text: string): boolean =>
  /^magnet:/i.test(text) || /^https?:\/\//i.test(text) || text.startsWith("#") || /^[0-9a-fA-F]{40}$/.test(text) || /^[A-Za-z2-7]{32}$/.test(text);

/** Interprets `get`'s argument: a share link, magnet link, bare infohash or a .torrent file path. */
export async function resolveGetSource(source: string): Promise<GetSource> {
  const text = source.trim();
  if (looksLikeLink(text)) {
    try {
      return { kind: "magnet", link: parseShareFragment(text) };
    } catch (err) {
      if (err instanceof MagnetError) throw new BadLinkError(`bad link: ${err.message}`);
      throw err;
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(text));
  } catch (err) {
    if (errnoCode(err) === "ENOENT" && !/\.torrent$/i.test(text)) {
      throw new BadLinkError(`${JSON.stringify(text)} is not a share link, magnet link, infohash or .torrent file`);
    }
    throw new BadLinkError(`cannot read ${text}: ${fsReason(err)}`);
  }
  try {
    return { kind: "torrent", path: text, torrent: await parseTorrentFile(bytes) };
  } catch (err) {
    if (err instanceof MetainfoError) throw new BadLinkError(`${text} is not a usable .torrent file: ${err.message}`);
    throw err;
  }
}
