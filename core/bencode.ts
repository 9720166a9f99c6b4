// Bencode (BEP 3), own code: strict decoding is the point, and the `bencode`
// package accepts unsorted keys, leading zeros and unbounded nesting silently.
//
// Values: integers as JS numbers (safe-integer range only), byte strings as
// Uint8Array, lists as arrays, dicts as BDict (keys are binary strings, one char
// per byte, so string order equals raw byte order).

export type BValue = number | Uint8Array | BValue[] | BDict;
export interface BDict {
  [key: string]: BValue;
}

export class BencodeError extends Error {
  override name = "BencodeError";
  constructor(
    message: string,
    /** Byte offset where decoding failed. */
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

export interface DecodeLimits {
  /** Largest input accepted, in bytes. */
  maxBytes: number;
  /** Deepest list/dict nesting accepted. */
  maxDepth: number;
}

export const defaultDecodeLimits: DecodeLimits = { maxBytes: 16 * 1024 * 1024, maxDepth: 64 };

const ch = (c: string): number => c.charCodeAt(0);
const I = ch("i"), L = ch("l"), D = ch("d"), E = ch("e"), COLON = ch(":"), MINUS = ch("-"), ZERO = ch("0"), NINE = ch("9");

/** Decodes exactly one value spanning the whole input. */
export function decode(input: Uint8Array, limits: Partial<DecodeLimits> = {}): BValue {
  const { value, end } = decodePrefix(input, limits);
  if (end !== input.length) throw new BencodeError("trailing bytes after value", end);
  return value;
}

/** Decodes one value at the start of the input; returns where it ends (BEP 9 data messages carry a tail). */
export function decodePrefix(input: Uint8Array, limits: Partial<DecodeLimits> = {}): { value: BValue; end: number } {
  const { maxBytes, maxDepth } = { ...defaultDecodeLimits, ...limits };
  if (input.length > maxBytes) throw new BencodeError(`input of ${input.length} bytes exceeds the ${maxBytes}-byte bound`, 0);
  let pos = 0;

  const need = (n: number): void => {
    if (pos + n > input.length) throw new BencodeError("truncated input", input.length);
  };

  const readDigits = (terminator: number, allowSign: boolean): number => {
    const start = pos;
    let negative = false;
    if (allowSign && input[pos] === MINUS) {
      negative = true;
      pos++;
    }
    const digitsStart = pos;
    for (;;) {
      need(1);
      const c = input[pos]!;
      if (c === terminator) break;
      if (c < ZERO || c > NINE) throw new BencodeError(`unexpected byte 0x${c.toString(16)} in number`, pos);
      pos++;
    }
    const digits = pos - digitsStart;
    if (digits === 0) throw new BencodeError("empty number", start);
    if (input[digitsStart] === ZERO && digits > 1) throw new BencodeError("leading zero in number", start);
    if (negative && digits === 1 && input[digitsStart] === ZERO) throw new BencodeError("negative zero", start);
    if (digits > 16) throw new BencodeError("number outside the safe integer range", start);
    let n = 0;
    for (let i = digitsStart; i < pos; i++) n = n * 10 + (input[i]! - ZERO);
    if (!Number.isSafeInteger(n)) throw new BencodeError("number outside the safe integer range", start);
    pos++; // terminator
    return negative ? -n : n;
  };

  const readBytes = (): Uint8Array => {
    const start = pos;
    const c = input[pos]!;
    if (c < ZERO || c > NINE) throw new BencodeError(`unexpected byte 0x${c.toString(16)}`, pos);
    const length = readDigits(COLON, false);
    if (pos + length > input.length) throw new BencodeError(`string length ${length} runs past the end of input`, start);
    const out = input.subarray(pos, pos + length);
    pos += length;
    return out;
  };

  const readValue = (depth: number): BValue => {
    need(1);
    const c = input[pos]!;
    if (c === I) {
      pos++;
      return readDigits(E, true);
    }
    if (c === L || c === D) {
      if (depth >= maxDepth) throw new BencodeError(`nesting deeper than ${maxDepth}`, pos);
      pos++;
      if (c === L) {
        const list: BValue[] = [];
        for (;;) {
          need(1);
          if (input[pos] === E) {
            pos++;
            return list;
          }
          list.push(readValue(depth + 1));
        }
      }
      const dict: BDict = Object.create(null) as BDict;
      let previous: Uint8Array | null = null;
      for (;;) {
        need(1);
        if (input[pos] === E) {
          pos++;
          return dict;
        }
        const keyStart = pos;
        const key = readBytes();
        if (previous !== null) {
          const order = compareBytes(previous, key);
          if (order === 0) throw new BencodeError("duplicate dict key", keyStart);
          if (order > 0) throw new BencodeError("dict keys not sorted", keyStart);
        }
        previous = key;
        dict[binaryKey(key)] = readValue(depth + 1);
      }
    }
    return readBytes();
  };

  const value = readValue(0);
  return { value, end: pos };
}

export function encode(value: BValue): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const push = (bytes: Uint8Array): void => {
    parts.push(bytes);
    total += bytes.length;
  };
  const ascii = (text: string): Uint8Array => {
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  };
  const write = (v: BValue): void => {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v)) throw new TypeError(`bencode integers must be safe integers, got ${v}`);
      push(ascii(`i${v}e`));
    } else if (v instanceof Uint8Array) {
      push(ascii(`${v.length}:`));
      push(v);
    } else if (Array.isArray(v)) {
      push(ascii("l"));
      for (const item of v) write(item);
      push(ascii("e"));
    } else {
      push(ascii("d"));
      for (const key of Object.keys(v).sort(compareBinaryKeys)) {
        const item = v[key];
        if (item === undefined) continue;
        const keyBytes = ascii(key);
        for (let i = 0; i < key.length; i++) {
          if (key.charCodeAt(i) > 0xff) throw new TypeError("bencode dict keys are binary strings (chars 0-255)");
        }
        push(ascii(`${keyBytes.length}:`));
        push(keyBytes);
        write(item);
      }
      push(ascii("e"));
    }
  };
  write(value);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function compareBinaryKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function binaryKey(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

/** A dict from plain entries; keys given as JS strings are UTF-8 encoded to binary keys. */
export function dict(entries: Record<string, BValue | undefined>): BDict {
  const out: BDict = Object.create(null) as BDict;
  for (const [key, value] of Object.entries(entries)) {
    if (value === undefined) continue;
    out[binaryKey(new TextEncoder().encode(key))] = value;
  }
  return out;
}

export function isDict(v: BValue | undefined): v is BDict {
  return v !== undefined && typeof v === "object" && !(v instanceof Uint8Array) && !Array.isArray(v);
}

export function isBytes(v: BValue | undefined): v is Uint8Array {
  return v instanceof Uint8Array;
}

export function isInt(v: BValue | undefined): v is number {
  return typeof v === "number";
}

export function isList(v: BValue | undefined): v is BValue[] {
  return Array.isArray(v);
}
