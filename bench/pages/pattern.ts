// The benchmark's file content: a deterministic, incompressible byte pattern that
// every page can generate for itself (so no file crosses the harness) and that a
// receiver can check at any offset without holding the whole file.
// Word i (32-bit, host byte order) = fmix32(i + seed * golden ratio), the
// MurmurHash3 finaliser: cheap, and every bit depends on the index.

export const patternWordBytes = 4;

export class PatternRangeError extends Error {
  override name = "PatternRangeError";
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The pattern's 32-bit word at word index `wordIndex`. */
export function patternWord(seed: number, wordIndex: number): number {
  return fmix32((wordIndex + Math.imul(seed, 0x9e3779b9)) >>> 0);
}

function checkAligned(offsetBytes: number, lengthBytes: number): void {
  if (offsetBytes % patternWordBytes !== 0 || lengthBytes % patternWordBytes !== 0) {
    throw new PatternRangeError(`pattern ranges are whole 4-byte words: offset ${offsetBytes}, length ${lengthBytes}`);
  }
}

/** Fills `target` (byteOffset and length multiples of 4) with the pattern bytes that sit at `fileOffsetBytes` of the file. */
export function fillPattern(target: Uint8Array, seed: number, fileOffsetBytes: number): void {
  checkAligned(fileOffsetBytes, target.length);
  if (target.byteOffset % patternWordBytes !== 0) throw new PatternRangeError("target must start on a 4-byte boundary");
  const words = new Uint32Array(target.buffer, target.byteOffset, target.length / patternWordBytes);
  const first = fileOffsetBytes / patternWordBytes;
  for (let i = 0; i < words.length; i++) words[i] = patternWord(seed, first + i);
}

/** A fresh buffer holding `lengthBytes` of the pattern from `fileOffsetBytes`. */
export function makePattern(lengthBytes: number, seed: number, fileOffsetBytes = 0): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(lengthBytes);
  fillPattern(out, seed, fileOffsetBytes);
  return out;
}

/**
 * Spot-checks a chunk that claims to sit at `fileOffsetBytes`: its first and last
 * whole words must match the pattern. Cheap enough to run on every message.
 */
export function chunkMatchesPattern(chunk: Uint8Array, seed: number, fileOffsetBytes: number): boolean {
  if (chunk.length < patternWordBytes || fileOffsetBytes % patternWordBytes !== 0) return true;
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.length);
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  const firstWord = fileOffsetBytes / patternWordBytes;
  const lastWhole = Math.floor(chunk.length / patternWordBytes) - 1;
  return (
    view.getUint32(0, littleEndian) === patternWord(seed, firstWord) &&
    view.getUint32(lastWhole * patternWordBytes, littleEndian) === patternWord(seed, firstWord + lastWhole)
  );
}

/**
 * A File of `lengthBytes` of the pattern. One chunk buffer is refilled and
 * copied into a Blob part each time (Blob construction copies), so only one
 * chunk of ArrayBuffer is live: the page's memory then shows the app's own use.
 */
export function makePatternFile(name: string, lengthBytes: number, seed: number, chunkBytes = 16 * 1024 * 1024): File {
  const parts: Blob[] = [];
  const chunk = new Uint8Array(Math.ceil(Math.min(chunkBytes, Math.max(lengthBytes, patternWordBytes)) / patternWordBytes) * patternWordBytes);
  for (let offset = 0; offset < lengthBytes; offset += chunkBytes) {
    const length = Math.min(chunkBytes, lengthBytes - offset);
    const padded = Math.ceil(length / patternWordBytes) * patternWordBytes;
    const view = chunk.subarray(0, padded);
    fillPattern(view, seed, offset);
    parts.push(new Blob([view.subarray(0, length)]));
  }
  return new File(parts, name, { type: "application/octet-stream" });
}
