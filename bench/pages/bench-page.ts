// Entry of /bench.html: puts the benchmark functions on window.swarmBench.
import type { BenchPageApi } from "./api.ts";
import { ceilingAccept, ceilingAnswer, ceilingClose, ceilingOffer, ceilingReceived, ceilingStart } from "./ceiling-page.ts";
import { subtleSha1Rate } from "./hash-page.ts";
import { webtorrentDestroy, webtorrentDownload, webtorrentSeed } from "./webtorrent-page.ts";

const api: BenchPageApi = {
  ceilingOffer,
  ceilingAnswer,
  ceilingAccept,
  ceilingStart,
  ceilingReceived,
  ceilingClose,
  subtleSha1Rate,
  webtorrentSeed,
  webtorrentDownload,
  webtorrentDestroy,
};
window.swarmBench = api;
document.title = "SwarmDrop bench page (ready)";
