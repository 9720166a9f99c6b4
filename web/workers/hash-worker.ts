// A hashing worker: SHA-1 of one contiguous piece range of the dropped files,
// read with Blob.slice. The main thread (web/swarm/hashing.ts) splits the
// pieces among 4 of these (fewer for few pieces) and terminates them to cancel.
import { hashPieceRange, type HashJob, type HashWorkerMessage } from "../swarm/hashing.ts";

const post = (message: HashWorkerMessage, transfer: Transferable[] = []): void => {
  (self as unknown as { postMessage(m: HashWorkerMessage, t: Transferable[]): void }).postMessage(message, transfer);
};

self.onmessage = (event: MessageEvent<HashJob>) => {
  const job = event.data;
  let lastPostMs = 0;
  hashPieceRange(job.blobs, job.layout, job.first, job.end, (doneBytes) => {
    // Progress at most every 50 ms keeps the message rate low for small pieces.
    const now = performance.now();
    if (now - lastPostMs >= 50) {
      lastPostMs = now;
      post({ type: "progress", doneBytes });
    }
  })
    .then((hashes) => post({ type: "done", hashes }, [hashes.buffer]))
    .catch((err: unknown) => post({ type: "error", message: err instanceof Error ? err.message : String(err) }));
};
