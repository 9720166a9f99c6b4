import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { toHex } from "../bytes.ts";
import { Bitfield } from "./bitfield.ts";
import { ProtocolViolation } from "./errors.ts";

describe("Bitfield (BEP 3 bit order)", () => {
  it("puts piece 0 in the high bit of the first byte", () => {
    const b = new Bitfield(10);
    b.set(0);
    b.set(9);
    expect(toHex(b.toBytes())).toBe("8040");
    expect(b.has(0) && b.has(9) && !b.has(1)).toBe(true);
    expect(b.count).toBe(2);
  });

  it("full() (BEP 6 have_all) sets exactly pieceCount bits, spare bits zero", () => {
    expect(toHex(Bitfield.full(10).toBytes())).toBe("ffc0");
    expect(Bitfield.full(10).complete).toBe(true);
    expect(toHex(Bitfield.full(16).toBytes())).toBe("ffff");
  });

  it("rejects received bitfields of the wrong length or with spare bits set", () => {
    const kind = (bytes: number[], n: number): string => {
      try {
        Bitfield.fromBytes(Uint8Array.from(bytes), n);
        return "ok";
      } catch (err) {
        return err instanceof ProtocolViolation ? err.kind : "other";
      }
    };
    expect(kind([0xff, 0xc0], 10)).toBe("ok");
    expect(kind([0xff, 0xe0], 10)).toBe("bad-bitfield"); // bit for piece 10 set
    expect(kind([0xff], 10)).toBe("bad-bitfield"); // too short
    expect(kind([0xff, 0xc0, 0x00], 10)).toBe("bad-bitfield"); // too long
    expect(kind([0x01], 7)).toBe("bad-bitfield"); // the lowest spare bit
    expect(kind([], 0)).toBe("ok");
  });

  it("counts what it holds after any sequence of set and clear", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.array(fc.tuple(fc.boolean(), fc.nat()), { maxLength: 100 }), (n, ops) => {
        const b = new Bitfield(n);
        const model = new Set<number>();
        for (const [add, raw] of ops) {
          const i = raw % n;
          if (add) expect(b.set(i)).toBe(!model.has(i));
          else expect(b.clear(i)).toBe(model.has(i));
          if (add) model.add(i);
          else model.delete(i);
        }
        expect(b.count).toBe(model.size);
        expect([...b.indices()]).toEqual([...model].sort((x, y) => x - y));
        expect(Bitfield.fromBytes(b.toBytes(), n).count).toBe(model.size);
      }),
    );
  });

  it("throws RangeError when setting outside the piece range", () => {
    expect(() => new Bitfield(8).set(8)).toThrow(RangeError);
    expect(new Bitfield(8).has(8)).toBe(false);
  });
});
