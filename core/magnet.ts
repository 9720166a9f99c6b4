// Magnet links (BEP 9 "magnet URI format"): magnet:?xt=urn:btih:<hash>&dn=..&tr=..
// plus xl (exact length) and ws (web seed, BEP 19 as WebTorrent writes it).
import { infoHashFromBytes, infoHashFromHex, type InfoHash } from "./ids.ts";

export class MagnetError extends Error {
  override name = "MagnetError";
}

export interface MagnetLink {
  readonly infoHash: InfoHash;
  readonly displayName?: string;
  /** Tracker URLs, in link order, without duplicates. */
  readonly trackers: readonly string[];
  /** Total size in bytes (`xl`), when the link gives it. */
  readonly exactLength?: number;
  /** Web seed URLs (`ws`). */
  readonly webSeeds: readonly string[];
}

const HEX40 = /^[0-9a-fA-F]{40}$/;
const BASE32_32 = /^[A-Za-z2-7]{32}$/;
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (no padding) of exactly 32 chars into 20 bytes. */
function base32ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(20);
  let bits = 0;
  let value = 0;
  let index = 0;
  for (const ch of text.toUpperCase()) {
    const v = BASE32_ALPHABET.indexOf(ch);
    if (v < 0) throw new MagnetError(`${JSON.stringify(ch)} is not a base32 character`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}

/** Parses a bare infohash: 40 hex chars or 32 base32 chars (BEP 9 allows both). */
export function parseInfoHashText(text: string): InfoHash {
  if (HEX40.test(text)) return infoHashFromHex(text);
  if (BASE32_32.test(text)) return infoHashFromBytes(base32ToBytes(text));
  if (/^[0-9a-fA-F]+$/.test(text)) throw new MagnetError(`a hex infohash is 40 characters, got ${text.length}`);
  if (text.length === 32) throw new MagnetError(`${JSON.stringify(text)} is not valid base32 (letters A-Z and digits 2-7)`);
  throw new MagnetError(`an infohash is 40 hex or 32 base32 characters, got ${JSON.stringify(text.slice(0, 64))} (${text.length} characters)`);
}

/** Query-string value decoding: "+" is a space, then percent-decoding. */
function decodeValue(raw: string, key: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    throw new MagnetError(`the ${key} parameter has broken percent-encoding: ${JSON.stringify(raw.slice(0, 64))}`);
  }
}

/**
 * Parses a magnet link. Needs one `xt=urn:btih:` (hex or base32); takes `dn`,
 * `tr` (several, also `tr.1`..), `xl` and `ws`; ignores other parameters.
 */
export function parseMagnet(text: string): MagnetLink {
  const trimmed = text.trim();
  if (!/^magnet:\?/i.test(trimmed)) {
    throw new MagnetError(`not a magnet link (it must start with "magnet:?"): ${JSON.stringify(trimmed.slice(0, 64))}`);
  }
  let infoHash: InfoHash | undefined;
  let displayName: string | undefined;
  let exactLength: number | undefined;
  let sawOtherTopic = false;
  const trackers: string[] = [];
  const webSeeds: string[] = [];
  for (const part of trimmed.slice("magnet:?".length).split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    const raw = eq < 0 ? "" : part.slice(eq + 1);
    const base = key.replace(/\.\d+$/, ""); // BEP 9: xt.1, tr.1, ... number several values
    switch (base) {
      case "xt": {
        const value = decodeValue(raw, "xt");
        const m = /^urn:btih:(.*)$/i.exec(value);
        if (m === null) {
          sawOtherTopic = true; // e.g. urn:btmh: (BitTorrent v2) or another network
          break;
        }
        const hash = parseInfoHashText(m[1]!);
        if (infoHash !== undefined && infoHash !== hash) throw new MagnetError("the link names two different btih infohashes");
        infoHash = hash;
        break;
      }
      case "dn":
        displayName ??= decodeValue(raw, "dn");
        break;
      case "xl": {
        const value = decodeValue(raw, "xl");
        if (!/^\d{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) {
          throw new MagnetError(`xl (exact length) must be a whole number of bytes, got ${JSON.stringify(value.slice(0, 32))}`);
        }
        exactLength = Number(value);
        break;
      }
      case "tr": {
        const url = decodeValue(raw, "tr").trim();
        if (url !== "" && !trackers.includes(url)) trackers.push(url);
        break;
      }
      case "ws": {
        const url = decodeValue(raw, "ws").trim();
        if (url !== "" && !webSeeds.includes(url)) webSeeds.push(url);
        break;
      }
      default:
        break; // xs, as, kt, so, x.pe ...: not used here
    }
  }
  if (infoHash === undefined) {
    throw new MagnetError(
      sawOtherTopic
        ? "the magnet link has no BitTorrent v1 infohash (xt=urn:btih:...); v2-only and other networks are not supported"
        : "the magnet link has no infohash (xt=urn:btih:...)",
    );
  }
  return {
    infoHash,
    ...(displayName === undefined ? {} : { displayName }),
    trackers,
    ...(exactLength === undefined ? {} : { exactLength }),
    webSeeds,
  };
}

/** Percent-encodes a value; spaces become "+" as WebTorrent writes them. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}

/** Writes a magnet link: xt first, then dn, xl, tr..., ws... */
export function formatMagnet(link: MagnetLink): string {
  const parts = [`xt=urn:btih:${link.infoHash}`];
  if (link.displayName !== undefined) parts.push(`dn=${encodeValue(link.displayName)}`);
  if (link.exactLength !== undefined) {
    if (!Number.isSafeInteger(link.exactLength) || link.exactLength < 0) throw new MagnetError(`exact length must be a whole number of bytes, got ${link.exactLength}`);
    parts.push(`xl=${link.exactLength}`);
  }
  for (const tr of link.trackers) parts.push(`tr=${encodeValue(tr)}`);
  for (const ws of link.webSeeds) parts.push(`ws=${encodeValue(ws)}`);
  return `magnet:?${parts.join("&")}`;
}

/**
 * The app's share-link fragment: "#magnet:?...", "magnet:?...", a bare 40-hex
 * or 32-base32 infohash, or a whole URL carrying one of those after "#".
 * A percent-encoded magnet ("magnet%3A%3F...") is accepted too.
 */
export function parseShareFragment(fragment: string): MagnetLink {
  let text = fragment.trim();
  if (text === "") throw new MagnetError("the link is empty");
  const hash = text.indexOf("#");
  if (hash >= 0) text = text.slice(hash + 1).trim();
  if (/^magnet%3a/i.test(text)) {
    try {
      text = decodeURIComponent(text);
    } catch {
      throw new MagnetError("the link's magnet is percent-encoded badly");
    }
  }
  if (/^magnet:/i.test(text)) return parseMagnet(text);
  if (HEX40.test(text) || BASE32_32.test(text)) return { infoHash: parseInfoHashText(text), trackers: [], webSeeds: [] };
  throw new MagnetError(`not a SwarmDrop link: expected "#magnet:?xt=urn:btih:..." or an infohash, got ${JSON.stringify(text.slice(0, 64))}`);
}
