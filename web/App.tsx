// The page: header with the upload limit and storage use, page-wide notices, the drop zone and link
// field, then one card per transfer. A link in the URL fragment is opened on
// load and whenever the fragment changes.
import { useEffect } from "react";
import { useSwarm, useSwarmStore } from "./state/context.tsx";
import { DropZone } from "./ui/DropZone.tsx";
import { Notices, Unsupported } from "./ui/Notices.tsx";
import { StorageBar } from "./ui/StorageBar.tsx";
import { PendingShareCard, TransferCard } from "./ui/TransferCard.tsx";
import { UploadLimit } from "./ui/UploadLimit.tsx";

function useOpenFragment(): void {
  const store = useSwarmStore();
  useEffect(() => {
    const { actions, unsupportedReason } = store.getState();
    if (unsupportedReason) return;
    let lastOpened = "";
    const openFragment = () => {
      const fragment = window.location.hash.slice(1);
      if (!fragment || fragment === lastOpened) return;
      lastOpened = fragment;
      void actions.open({ link: fragment });
    };
    openFragment();
    window.addEventListener("hashchange", openFragment);
    return () => window.removeEventListener("hashchange", openFragment);
  }, [store]);
}

function Transfers() {
  const order = useSwarm((s) => s.transferOrder);
  const lastShared = useSwarm((s) => s.lastShared);
  const pending = useSwarm((s) => s.pendingShares);
  // Names of transfers the manager lists as hashing, joined into one string so the selector result compares by value.
  const hashingNames = useSwarm((s) => s.transferOrder.filter((h) => s.transfers.get(h)?.status === "hashing").map((h) => s.transfers.get(h)?.name).join("\n"));
  // A pending share is shown on its own until the manager lists it as hashing.
  const listed = new Set(hashingNames.split("\n"));
  const unlisted = pending.filter((p) => !listed.has(p.name));
  const sorted = lastShared && order.includes(lastShared) ? [lastShared, ...order.filter((h) => h !== lastShared)] : order;
  if (sorted.length === 0 && unlisted.length === 0) return null;
  return (
    <div className="transfers">
      {unlisted.map((p) => (
        <PendingShareCard key={`pending-${p.id}`} id={p.id} />
      ))}
      {sorted.map((hash) => (
        <TransferCard key={hash} infoHash={hash} highlight={hash === lastShared} />
      ))}
    </div>
  );
}

export function App() {
  const unsupportedReason = useSwarm((s) => s.unsupportedReason);
  useOpenFragment();
  return (
    <>
      <header className="site-header">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <h1>SwarmDrop</h1>
        </div>
        <div className="header-tools">
          {unsupportedReason ? null : <UploadLimit />}
          <StorageBar />
        </div>
      </header>
      <main className="page">
        <p className="tagline">Share files straight from your browser. Everyone who opens the link downloads from you and from each other.</p>
        <Notices />
        {unsupportedReason ? (
          <Unsupported reason={unsupportedReason} />
        ) : (
          <>
            <DropZone />
            <Transfers />
          </>
        )}
      </main>
    </>
  );
}
