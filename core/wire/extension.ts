// BEP 10 extension protocol: the extended handshake (extended message id 0),
// a bencoded dict {m: {name: id}, v, reqq, metadata_size, ...}.
import { BencodeError, decode, dict, encode, isBytes, isDict, isInt, type BDict, type BValue } from "../bencode.ts";
import { fromBinaryString } from "../bytes.ts";
import { ProtocolViolation } from "./errors.ts";

/** BEP 10: extended message id 0 is the handshake. */
export const extendedHandshakeId = 0;
/** BEP 9: the extension's name in `m`. */
export const utMetadataName = "ut_metadata";
/** Our client name in `v`. */
export const clientName = "SwarmDrop 0.1";
/** Default bound on the info dict accepted over BEP 9 (16 MiB). */
export const defaultMaxMetadataBytes = 16 * 1024 * 1024;
/** Client names are cut to this many characters (they are shown in the UI). */
export const maxClientNameChars = 64;

export interface ExtendedHandshake {
  /** Enabled extensions: name -> the id the sender wants us to use for it (1..255). */
  readonly m: ReadonlyMap<string, number>;
  /** Extensions the sender disables (id 0 in `m`, BEP 10). */
  readonly disabled: readonly string[];
  /** `v`: client name and version. */
  readonly client: string | null;
  /** `reqq`: how many outstanding requests the sender keeps without dropping. */
  readonly reqq: number | null;
  /** `metadata_size` (BEP 9): size of the info dict in bytes. */
  readonly metadataSize: number | null;
}

export interface ExtendedHandshakeInit {
  readonly m: Readonly<Record<string, number>>;
  readonly client?: string;
  readonly reqq?: number;
  readonly metadataSize?: number | null;
}

/** The bencoded payload of our extended handshake (without the BEP 10 id byte). */
export function encodeExtendedHandshake(init: ExtendedHandshakeInit): Uint8Array {
  const m = Object.create(null) as Record<string, BValue>; // no prototype: an extension may be named "__proto__"
  for (const [name, id] of Object.entries(init.m)) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new RangeError(`extension id for ${name} must be 0..255, got ${id}`);
    m[name] = id;
  }
  return encode(
    dict({
      m: dict(m),
      v: init.client === undefined ? undefined : new TextEncoder().encode(init.client),
      reqq: init.reqq,
      metadata_size: init.metadataSize ?? undefined,
    }),
  );
}

const lossyUtf8 = new TextDecoder("utf-8");

function keyText(binaryKey: string): string {
  return lossyUtf8.decode(fromBinaryString(binaryKey) ?? new Uint8Array());
}

/**
 * Parses and validates an extended handshake payload (BEP 10). Unknown keys are
 * ignored; known keys of the wrong type are violations. Throws ProtocolViolation:
 * "malformed-bencode", "bad-extended-handshake", "metadata-too-large".
 */
export function parseExtendedHandshake(payload: Uint8Array, maxMetadataBytes: number = defaultMaxMetadataBytes): ExtendedHandshake {
  let value: BValue;
  try {
    value = decode(payload, { maxDepth: 8 });
  } catch (err) {
    if (err instanceof BencodeError) throw new ProtocolViolation("malformed-bencode", `extended handshake: ${err.message}`);
    throw err;
  }
  if (!isDict(value)) throw new ProtocolViolation("bad-extended-handshake", "the extended handshake is not a dict");
  const top: BDict = value;
  const m = new Map<string, number>();
  const disabled: string[] = [];
  const rawM = top["m"];
  if (rawM !== undefined) {
    if (!isDict(rawM)) throw new ProtocolViolation("bad-extended-handshake", "m is not a dict");
    for (const [key, id] of Object.entries(rawM)) {
      if (!isInt(id) || id < 0 || id > 255) throw new ProtocolViolation("bad-extended-handshake", `m[${JSON.stringify(keyText(key))}] must be an integer 0..255`);
      if (id === 0) disabled.push(keyText(key));
      else m.set(keyText(key), id);
    }
  }
  const v = top["v"];
  if (v !== undefined && !isBytes(v)) throw new ProtocolViolation("bad-extended-handshake", "v is not a string");
  const reqq = top["reqq"];
  if (reqq !== undefined && (!isInt(reqq) || reqq < 1)) throw new ProtocolViolation("bad-extended-handshake", "reqq must be a positive integer");
  const size = top["metadata_size"];
  if (size !== undefined) {
    if (!isInt(size) || size < 1) throw new ProtocolViolation("bad-extended-handshake", "metadata_size must be a positive integer");
    if (size > maxMetadataBytes) throw new ProtocolViolation("metadata-too-large", `metadata_size ${size} exceeds the ${maxMetadataBytes}-byte bound`);
  }
  return {
    m,
    disabled,
    client: v === undefined ? null : [...lossyUtf8.decode(v)].slice(0, maxClientNameChars).join(""),
    reqq: reqq ?? null,
    metadataSize: size ?? null,
  };
}
