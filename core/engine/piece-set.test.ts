import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { PieceSet, PieceSetPool } from "./piece-set.ts";

describe("PieceSet", () => {
  it("lists the pieces a peer has and we lack, across word boundaries", () => {
    const theirs = new PieceSet(70);
    const ours = new PieceSet(70);
    for (const i of [0, 5, 31, 32, 33, 63, 64, 69]) theirs.add(i);
    for (const i of [5, 32, 64]) ours.add(i);
    const out: number[] = [];
    theirs.forEachNotIn(ours, (i) => void out.push(i));
    expect(out).toEqual([0, 31, 33, 63, 69]);
    expect(theirs.count).toBe(8);
  });

  it("agrees with a plain boolean array under seeded random adds and deletes", () => {
    const r = seededRandom(3);
    const set = new PieceSet(300);
    const plain = new Array<boolean>(300).fill(false);
    for (let k = 0; k < 2000; k++) {
      const i = r.int(300);
      if (r.next() < 0.6) expect(set.add(i)).toBe(!plain[i]);
      else expect(set.delete(i)).toBe(plain[i]);
      plain[i] = set.has(i);
    }
    const listed: number[] = [];
    set.forEach((i) => void listed.push(i));
    expect(listed).toEqual(plain.flatMap((b, i) => (b ? [i] : [])));
    expect(set.count).toBe(listed.length);
  });

  it("sets taken from one pool stay independent while the pool grows, and given-back storage is reused empty", () => {
    const pool = new PieceSetPool(70, 1);
    const sets = Array.from({ length: 5 }, () => pool.take());
    sets.forEach((set, k) => {
      set.add(k);
      set.add(69 - k);
    });
    const more = pool.take(); // grows the pool again
    more.add(40);
    sets.forEach((set, k) => {
      const listed: number[] = [];
      set.forEach((i) => void listed.push(i));
      expect(listed).toEqual([k, 69 - k]);
      expect(set.count).toBe(2);
    });
    const standalone = new PieceSet(70);
    standalone.add(2);
    const out: number[] = [];
    sets[2]!.forEachNotIn(standalone, (i) => void out.push(i));
    expect(out).toEqual([67]);
    pool.give(sets[1]!);
    const reused = pool.take();
    expect(reused.count).toBe(0);
    expect(reused.has(1) || reused.has(68)).toBe(false);
    reused.add(3);
    expect(sets[0]!.has(3) || sets[2]!.has(3) || more.has(3)).toBe(false);
    expect(() => new PieceSet(71, pool)).toThrow(RangeError);
  });

  it("the pool's offset methods are the set's own methods", () => {
    const pool = new PieceSetPool(100, 2);
    const a = pool.take();
    const b = pool.take();
    expect(pool.addAt(a.offset, 99)).toBe(true);
    expect(pool.addAt(a.offset, 99)).toBe(false);
    expect(a.has(99) && !b.has(99)).toBe(true);
    b.add(7);
    expect(pool.hasAt(b.offset, 7)).toBe(true);
    expect(pool.countAt(a.offset)).toBe(1);
    expect(pool.deleteAt(b.offset, 7)).toBe(true);
    expect(b.count).toBe(0);
    expect(a.count).toBe(1);
  });
});
