// How much this browser's storage SwarmDrop uses (IndexedDB), against the quota.
import { useSwarm } from "../state/context.tsx";
import { formatBytes } from "./format.ts";

export function storageText(usedBytes: number, quotaBytes: number | null): string {
  return quotaBytes === null ? `SwarmDrop stores ${formatBytes(usedBytes)} in this browser` : `SwarmDrop stores ${formatBytes(usedBytes)} of ${formatBytes(quotaBytes)} available`;
}

export function StorageBar() {
  const storage = useSwarm((s) => s.storage);
  if (!storage) return null;
  const text = storageText(storage.usedBytes, storage.quotaBytes);
  return (
    <div className="storage" title={text}>
      {storage.quotaBytes !== null && storage.quotaBytes > 0 ? (
        <meter min={0} max={storage.quotaBytes} value={storage.usedBytes} high={storage.quotaBytes * 0.9} aria-label="Storage used" />
      ) : null}
      <span className="small">{text}</span>
    </div>
  );
}
