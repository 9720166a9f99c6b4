// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import { filesFromDrop, filesFromInput, torrentFileOf } from "./collectFiles.ts";

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

// A folder dropped from the desktop arrives as File and Directory Entries
// (webkitGetAsEntry). These fakes behave like Chromium's: readEntries hands
// out at most 100 entries a call and then an empty batch; fullPath starts at "/".
type FakeTree = { [name: string]: string | FakeTree };

function fakeEntry(name: string, node: string | FakeTree, parent: string): FileSystemEntry {
  const fullPath = `${parent}/${name}`;
  if (typeof node === "string") {
    const file = new File([node], name);
    return { name, fullPath, isFile: true, isDirectory: false, file: (ok: (f: File) => void) => ok(file) } as unknown as FileSystemEntry;
  }
  // Unsorted on purpose: the order a file system lists a folder in is not the drop's order.
  const children = Object.entries(node).reverse().map(([n, child]) => fakeEntry(n, child, fullPath));
  const createReader = () => {
    let at = 0;
    return {
      readEntries(ok: (batch: FileSystemEntry[]) => void) {
        const batch = children.slice(at, at + 100);
        at += batch.length;
        queueMicrotask(() => ok(batch));
      },
    };
  };
  return { name, fullPath, isFile: false, isDirectory: true, createReader } as unknown as FileSystemEntry;
}

function dropOf(entries: FileSystemEntry[], plain: File[] = []): DataTransfer {
  const items = [
    ...entries.map((entry) => ({ kind: "file", webkitGetAsEntry: () => entry, getAsFile: () => null })),
    ...plain.map((file) => ({ kind: "file", webkitGetAsEntry: () => null, getAsFile: () => file })),
    { kind: "string", webkitGetAsEntry: () => null, getAsFile: () => null },
  ];
  return { items, files: [] } as unknown as DataTransfer;
}

describe("filesFromDrop", () => {
  it("walks a dropped folder: nested folders, empty files, every path below the folder's name", async () => {
    const trip = fakeEntry("trip", { "notes.txt": "hello", "empty.txt": "", day1: { "b.jpg": "bb", "a.jpg": "a" }, nothing: {} }, "");
    const files = await filesFromDrop(dropOf([trip]));
    expect(files.map((f) => f.path)).toEqual(["trip/day1/a.jpg", "trip/day1/b.jpg", "trip/empty.txt", "trip/notes.txt"]);
    expect(files.map((f) => f.file.size)).toEqual([1, 2, 0, 5]);
  });

  it("reads a folder of more entries than one readEntries call returns", async () => {
    const many: FakeTree = {};
    for (let i = 0; i < 250; i++) many[`f${String(i).padStart(3, "0")}.txt`] = String(i);
    const files = await filesFromDrop(dropOf([fakeEntry("big", many, "")]));
    expect(files).toHaveLength(250);
    expect(files[0]?.path).toBe("big/f000.txt");
    expect(files[249]?.path).toBe("big/f249.txt");
  });

  it("takes a folder and loose files dropped together", async () => {
    const loose = new File(["x"], "loose.md");
    const files = await filesFromDrop(dropOf([fakeEntry("pics", { "p.png": "pp" }, "")], [loose]));
    expect(files.map((f) => f.path).sort()).toEqual(["loose.md", "pics/p.png"]);
  });

  it("says why when a dropped folder cannot be read", async () => {
    const locked = {
      name: "locked",
      fullPath: "/locked",
      isFile: false,
      isDirectory: true,
      createReader: () => ({ readEntries: (_ok: unknown, fail: (e: DOMException) => void) => fail(new DOMException("A requested file or directory could not be found", "NotFoundError")) }),
    } as unknown as FileSystemEntry;
    await expect(filesFromDrop(dropOf([locked]))).rejects.toThrow(/could not be found/);
  });
});
