// Saving to the person's disk: a Blob through an object-URL download, and a
// stream (the zip of a folder share) through the File System Access API when
// the browser has it, else collected into a Blob first.

export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = fileName;
  a.rel = "noopener";
  a.style.display = "none";
  document.body.append(a);
  a.click();
  a.remove();
  // The download has taken its copy once the click is handled; give it a minute.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

interface SaveFilePickerWindow {
  showSaveFilePicker?: (options: {
    suggestedName?: string;
    types?: { description: string; accept: Record<string, string[]> }[];
  }) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;
}

/**
 * Streams to a file. `makeStream` is called only after a place to save is
 * chosen, so nothing is produced for a cancelled picker. Resolves false when
 * the person cancelled the picker.
 */
export async function saveStream(makeStream: () => ReadableStream<Uint8Array>, fileName: string, mimeType: string): Promise<boolean> {
  const picker = (window as unknown as SaveFilePickerWindow).showSaveFilePicker;
  if (picker) {
    let handle;
    try {
      handle = await picker({ suggestedName: fileName, types: [{ description: "Zip archive", accept: { [mimeType]: [".zip"] } }] });
    } catch (error) {
      if (error instanceof DOMException && error.name === "AbortError") return false;
      throw error;
    }
    await makeStream().pipeTo(await handle.createWritable());
    return true;
  }
  const blob = await new Response(makeStream(), { headers: { "content-type": mimeType } }).blob();
  saveBlob(blob, fileName);
  return true;
}
