// The fluid lower bound on a swarm's distribution time (Kumar & Ross 2006,
// quoted in shared/design/algorithms.md). For a file of F bytes, one seed
// uploading u_s bytes/s and N downloaders with uploads u_i and downloads d_i,
// no schedule can finish every downloader before
//
//     D_min = max( F / u_s,  F / min(d_i),  N*F / (u_s + sum(u_i)) )
//
// The simulator reports it beside every run; the browser swarm benchmark
// divides its measured time until the last downloader finishes by it.

export interface FluidPeer {
  /** The downloader's upload capacity, bytes per second (0 for a free rider). */
  uploadBytesPerS: number;
  /** The downloader's download capacity, bytes per second (Infinity when uncapped). */
  downloadBytesPerS: number;
}

export interface FluidBoundInput {
  /** Size of the file every downloader wants, bytes. */
  fileBytes: number;
  /** The seed's upload capacity, bytes per second. */
  seedUploadBytesPerS: number;
  /** The downloaders (the seed excluded). */
  peers: readonly FluidPeer[];
}

/** Each of the three terms, in seconds; `boundSeconds` is their maximum. */
export interface FluidBoundTerms {
  /** F / u_s: the seed must push every byte out at least once. */
  seedSeconds: number;
  /** F / min(d_i): the slowest downloader must take in every byte. */
  slowestDownloadSeconds: number;
  /** N*F / (u_s + sum(u_i)): N copies must leave someone's uplink. */
  totalUploadSeconds: number;
  boundSeconds: number;
}

export class FluidBoundInputError extends Error {
  override name = "FluidBoundInputError";
}

function checkRate(value: number, what: string, allowZero: boolean): void {
  if (Number.isNaN(value) || value < 0 || (!allowZero && value === 0)) {
    throw new FluidBoundInputError(`${what} must be ${allowZero ? "at least 0" : "above 0"} bytes/s, got ${value}`);
  }
}

/** The three terms of D_min and their maximum. With no downloaders every term is 0. */
export function fluidBoundTerms(input: FluidBoundInput): FluidBoundTerms {
  const { fileBytes, seedUploadBytesPerS, peers } = input;
  if (!Number.isFinite(fileBytes) || fileBytes < 0) {
    throw new FluidBoundInputError(`fileBytes must be a finite size of at least 0, got ${fileBytes}`);
  }
  checkRate(seedUploadBytesPerS, "seedUploadBytesPerS", false);
  peers.forEach((p, i) => {
    checkRate(p.uploadBytesPerS, `peers[${i}].uploadBytesPerS`, true);
    checkRate(p.downloadBytesPerS, `peers[${i}].downloadBytesPerS`, false);
  });
  if (peers.length === 0 || fileBytes === 0) {
    return { seedSeconds: 0, slowestDownloadSeconds: 0, totalUploadSeconds: 0, boundSeconds: 0 };
  }
  const seedSeconds = fileBytes / seedUploadBytesPerS;
  const minDownload = Math.min(...peers.map((p) => p.downloadBytesPerS));
  const slowestDownloadSeconds = fileBytes / minDownload;
  let totalUpload = seedUploadBytesPerS;
  for (const p of peers) totalUpload += p.uploadBytesPerS;
  const totalUploadSeconds = (peers.length * fileBytes) / totalUpload;
  return {
    seedSeconds,
    slowestDownloadSeconds,
    totalUploadSeconds,
    boundSeconds: Math.max(seedSeconds, slowestDownloadSeconds, totalUploadSeconds),
  };
}

/** D_min in seconds: no schedule finishes every downloader sooner. */
export function fluidBoundSeconds(input: FluidBoundInput): number {
  return fluidBoundTerms(input).boundSeconds;
}
