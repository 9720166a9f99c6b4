import { describe, expect, it } from "vitest";
import { seededRandom } from "../random.ts";
import { PieceSet } from "./piece-set.ts";

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
});
