// Turns what a person picked or dropped into (file, path) pairs for sharing.
// Folders are walked with the File and Directory Entries API (drops) or read
// from webkitRelativePath (the "Add folder" picker); empty files are kept.
import type { SharedFile } from "../state/store.ts";

/** Files from an <input type=file> (with or without webkitdirectory). */
export function filesFromInput(list: FileList | readonly File[]): SharedFile[] {
  return Array.from(list, (file) => ({ file, path: file.webkitRelativePath || file.name }));
}

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries returns at most ~100 entries a call: read until it returns none.
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, out: SharedFile[]): Promise<void> {
  const path = entry.fullPath.replace(/^\/+/, "");
  if (entry.isFile) {
    out.push({ file: await entryFile(entry as FileSystemFileEntry), path: path || entry.name });
  } else if (entry.isDirectory) {
    const children = await readAllEntries((entry as FileSystemDirectoryEntry).createReader());
    children.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const child of children) await walk(child, out);
  }
}

/** Files from a drop, folders included. Entries must be taken synchronously in the drop handler. */
export async function filesFromDrop(transfer: DataTransfer): Promise<SharedFile[]> {
  const entries: FileSystemEntry[] = [];
  const plain: File[] = [];
  for (const item of Array.from(transfer.items)) {
    if (item.kind !== "file") continue;
    const entry = typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) plain.push(file);
    }
  }
  if (entries.length === 0 && plain.length === 0) return filesFromInput(transfer.files);
  const out: SharedFile[] = filesFromInput(plain);
  for (const entry of entries) await walk(entry, out);
  return out;
}

/** A single dropped .torrent file is opened, not shared. */
export function torrentFileOf(files: readonly SharedFile[]): File | null {
  const only = files.length === 1 ? files[0] : undefined;
  return only && !only.path.includes("/") && /\.torrent$/i.test(only.file.name) ? only.file : null;
}
