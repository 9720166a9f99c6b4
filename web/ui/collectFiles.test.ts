// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { filesFromInput, torrentFileOf } from "./collectFiles.ts";

function fileIn(path: string, body = "x"): File {
  const name = path.split("/").at(-1)!;
  const file = new File([body], name);
  if (path.includes("/")) Object.defineProperty(file, "webkitRelativePath", { value: path });
  return file;
}

describe("filesFromInput", () => {
  it("keeps folder paths from the folder picker and plain names otherwise", () => {
    expect(filesFromInput([fileIn("trip/day1/a.jpg"), fileIn("trip/empty.txt", "")]).map((f) => f.path)).toEqual(["trip/day1/a.jpg", "trip/empty.txt"]);
    expect(filesFromInput([fileIn("notes.md")]).map((f) => f.path)).toEqual(["notes.md"]);
  });
});

describe("torrentFileOf", () => {
  it("opens a single dropped .torrent instead of sharing it", () => {
    const files = filesFromInput([fileIn("ubuntu.TORRENT")]);
    expect(torrentFileOf(files)?.name).toBe("ubuntu.TORRENT");
  });
  it("shares a .torrent that comes with other files or inside a folder", () => {
    expect(torrentFileOf(filesFromInput([fileIn("a.torrent"), fileIn("b.txt")]))).toBeNull();
    expect(torrentFileOf(filesFromInput([fileIn("dir/a.torrent")]))).toBeNull();
    expect(torrentFileOf(filesFromInput([fileIn("a.txt")]))).toBeNull();
  });
});
