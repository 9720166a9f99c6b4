// Errors and confirmations for the whole page (bad links, failed shares, ...).
import { useActions, useSwarm } from "../state/context.tsx";

/** Engine messages start lower-case ("a hex infohash is ..."); shown alone they read as sentences. */
export function sentence(text: string): string {
  return text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text;
}

export function Notices() {
  const notices = useSwarm((s) => s.notices);
  const actions = useActions();
  return (
    <div className="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice ${n.kind}`} role={n.kind === "error" ? "alert" : "status"}>
          <div>
            <strong>{n.title}</strong>
            <p>{sentence(n.message)}</p>
          </div>
          <button type="button" className="icon" aria-label={`Dismiss: ${n.title}`} onClick={() => actions.dismissNotice(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function Unsupported({ reason }: { readonly reason: string }) {
  return (
    <div className="notice error unsupported" role="alert">
      <div>
        <strong>This browser cannot run SwarmDrop</strong>
        <p>{reason}</p>
        <p>Try a current Chrome, Edge, Firefox or Safari, outside private browsing mode.</p>
      </div>
    </div>
  );
}
