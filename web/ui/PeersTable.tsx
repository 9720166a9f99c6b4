// The peers of one transfer: who they are, how the connection stands, who
// chokes whom and who wants what (both directions), rates, their progress,
// and our optimistic unchoke and snubbing peers marked.
import type { PeerSnapshot } from "../../core/engine/session-types.ts";
import { formatPercent, formatRate } from "./format.ts";

/**
 * A short readable name: the client when it said one, plus the end of its peer
 * id (the start is the client's Azureus-style prefix, the same for everyone).
 */
export function peerLabel(peer: PeerSnapshot): string {
  const id = peer.peerId ? peer.peerId.slice(-8) : String(peer.id).slice(0, 8);
  return peer.client ? `${peer.client} (${id})` : id;
}

/** Handshaking until the peer's id arrives; then whether data can flow either way. */
export function connectionState(peer: PeerSnapshot): string {
  if (peer.peerId === null) return "Handshaking";
  const downloading = !peer.peerChoking && peer.amInterested;
  const uploading = !peer.amChoking && peer.peerInterested;
  if (downloading && uploading) return "Exchanging";
  if (downloading) return "Downloading";
  if (uploading) return "Uploading";
  return "Connected";
}

function chokeText(choking: boolean, interested: boolean): string {
  return `${choking ? "choked" : "unchoked"}, ${interested ? "interested" : "not interested"}`;
}

export function PeersTable({ peers }: { readonly peers: readonly PeerSnapshot[] }) {
  return (
    <div className="table-scroll">
      <table className="peers">
        <caption>Peers</caption>
        <thead>
          <tr>
            <th scope="col">Peer</th>
            <th scope="col">Connection</th>
            <th scope="col" title="Whether they choke us, and whether we want pieces they have">
              They → us
            </th>
            <th scope="col" title="Whether we choke them, and whether they want pieces we have">
              Us → them
            </th>
            <th scope="col" className="num">
              Down
            </th>
            <th scope="col" className="num">
              Up
            </th>
            <th scope="col" className="num">
              Their progress
            </th>
            <th scope="col">Notes</th>
          </tr>
        </thead>
        <tbody>
          {peers.length === 0 ? (
            <tr>
              <td colSpan={8} className="muted">
                No peers connected.
              </td>
            </tr>
          ) : (
            peers.map((peer) => (
              <tr key={peer.id}>
                <th scope="row" className="mono">
                  {peerLabel(peer)}
                </th>
                <td>{connectionState(peer)}</td>
                <td className="wrap">{chokeText(peer.peerChoking, peer.amInterested)}</td>
                <td className="wrap">{chokeText(peer.amChoking, peer.peerInterested)}</td>
                <td className="num">{formatRate(peer.downloadRateBytesPerS)}</td>
                <td className="num">{formatRate(peer.uploadRateBytesPerS)}</td>
                <td className="num">{peer.progress === null ? "—" : formatPercent(peer.progress)}</td>
                <td>
                  {peer.optimistic ? (
                    <span className="tag tag-optimistic" title="We unchoked this peer as our optimistic unchoke">
                      optimistic unchoke
                    </span>
                  ) : null}
                  {peer.snubbed ? (
                    <span className="tag tag-snubbed" title="No block from this peer for a while: it is snubbing us">
                      snubbed
                    </span>
                  ) : null}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
