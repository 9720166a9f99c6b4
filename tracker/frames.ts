// Server-to-client WebSocket text frames (RFC 6455 section 5.2), written in
// batches: all messages for one socket in one event-loop turn become one
// buffer and one write. Profiling showed one write syscall per message as the
// largest cost of a WebSocket tracker; under load a socket often gets several
// messages (offers, answers, a response) per turn. Server frames are unmasked
// (RFC 6455 section 5.1), so a frame is a 2-, 4- or 10-byte header plus the
// UTF-8 payload. Only valid with permessage-deflate off (the tracker's setting).

/** Header length for a payload of `n` bytes: 7-bit, 16-bit or 64-bit length (RFC 6455 5.2). */
function headerLength(n: number): number {
  return n < 126 ? 2 : n < 65536 ? 4 : 10;
}

/** Encodes text messages as consecutive final text frames (FIN=1, opcode 0x1) in one Buffer. */
export function encodeTextFrames(texts: readonly string[]): Buffer {
  let total = 0;
  const sizes = new Array<number>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const n = Buffer.byteLength(texts[i]!, "utf8");
    sizes[i] = n;
    total += headerLength(n) + n;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    const n = sizes[i]!;
    out[at++] = 0x81; // FIN + text opcode
    if (n < 126) {
      out[at++] = n;
    } else if (n < 65536) {
      out[at++] = 126;
      out.writeUInt16BE(n, at);
      at += 2;
    } else {
      out[at++] = 127;
      out.writeUInt32BE(Math.floor(n / 2 ** 32), at);
      out.writeUInt32BE(n >>> 0, at + 4);
      at += 8;
    }
    at += out.write(texts[i]!, at, "utf8");
  }
  return out;
}
