// Test helper (not used by the app): two PeerConnections wired through an
// in-memory byte pipe that re-chunks every chunk at seeded random points, the
// way data-channel messages may split or merge a byte stream.
import type { Clock } from "../clock.ts";
import type { Random } from "../random.ts";
import type { PeerConnection, PeerEvent } from "./peer-connection.ts";

export class ManualClock implements Clock {
  constructor(public timeMs = 0) {}
  nowMs(): number {
    return this.timeMs;
  }
  advance(ms: number): void {
    this.timeMs += ms;
  }
}

/** Splits `bytes` into random pieces, from empty to the whole (seeded). */
export function rechunk(bytes: Uint8Array, random: Random): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const roll = random.next();
    const size = roll < 0.2 ? random.int(3) : roll < 0.6 ? 1 + random.int(100) : 1 + random.int(40_000);
    out.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return out;
}

export interface Delivered {
  /** Events the first connection produced while receiving. */
  readonly a: PeerEvent[];
  readonly b: PeerEvent[];
  /** Bytes moved a -> b and b -> a. */
  readonly bytesAtoB: number;
  readonly bytesBtoA: number;
}

/**
 * Moves every queued byte between a and b, both ways, until neither has
 * anything queued; each chunk taken (random size) is re-chunked at random.
 */
export function pump(a: PeerConnection, b: PeerConnection, random: Random): Delivered {
  const events: Delivered = { a: [], b: [], bytesAtoB: 0, bytesBtoA: 0 };
  let moved = true;
  let bytesAtoB = 0;
  let bytesBtoA = 0;
  while (moved) {
    moved = false;
    for (const [from, to, sink] of [
      [a, b, events.b],
      [b, a, events.a],
    ] as const) {
      for (;;) {
        const chunk = from.takeOutgoing(1 + random.int(300_000));
        if (chunk === null) break;
        moved = true;
        if (from === a) bytesAtoB += chunk.length;
        else bytesBtoA += chunk.length;
        for (const part of rechunk(chunk, random)) sink.push(...to.receive(part));
      }
    }
  }
  return { ...events, bytesAtoB, bytesBtoA };
}
