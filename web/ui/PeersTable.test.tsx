// @vitest-environment jsdom
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { connectionId, type PeerSnapshot } from "../../core/engine/session-types.ts";
import { peerIdFromHex } from "../../core/ids.ts";
import { PeersTable } from "./PeersTable.tsx";

afterEach(cleanup);

function peer(overrides: Partial<PeerSnapshot> & { readonly hex: string }): PeerSnapshot {
  const { hex, ...rest } = overrides;
  return {
    id: connectionId(`conn-${hex}`),
    peerId: peerIdFromHex(`2d5344303130302d${hex.repeat(24)}`),
    client: null,
    amChoking: true,
    amInterested: false,
    peerChoking: true,
    peerInterested: false,
    optimistic: false,
    snubbed: false,
    downloadRateBytesPerS: 0,
    uploadRateBytesPerS: 0,
    downloadedBytes: 0,
    uploadedBytes: 0,
    progress: null,
    requestsInFlight: 0,
    ...rest,
  };
}

describe("<PeersTable>", () => {
  it("is a table named Peers with one row per peer", () => {
    render(
      <PeersTable
        peers={[
          peer({ hex: "a", client: "SwarmDrop 0.1", peerChoking: false, amInterested: true, downloadRateBytesPerS: 1_500_000, progress: 1 }),
          peer({ hex: "b", amChoking: false, peerInterested: true, uploadRateBytesPerS: 250_000, progress: 0.42, optimistic: true }),
          peer({ hex: "c", snubbed: true, progress: 0 }),
        ]}
      />,
    );
    const table = screen.getByRole("table", { name: "Peers" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(3);

    const first = within(rows[0]!).getAllByRole("cell").map((c) => c.textContent);
    expect(within(rows[0]!).getByRole("rowheader").textContent).toBe("SwarmDrop 0.1 (aaaaaaaa)");
    expect(first).toEqual(["Downloading", "unchoked, interested", "choked, not interested", "1.5 MB/s", "0 B/s", "100%", ""]);

    const second = within(rows[1]!).getAllByRole("cell").map((c) => c.textContent);
    expect(within(rows[1]!).getByRole("rowheader").textContent).toBe("bbbbbbbb");
    expect(second).toEqual(["Uploading", "choked, not interested", "unchoked, interested", "0 B/s", "250 kB/s", "42%", "optimistic unchoke"]);

    const third = within(rows[2]!).getAllByRole("cell").map((c) => c.textContent);
    expect(third.at(-1)).toBe("snubbed");
    expect(third[5]).toBe("0%");
  });

  it("marks the optimistic unchoke on that peer only", () => {
    render(<PeersTable peers={[peer({ hex: "1" }), peer({ hex: "2", optimistic: true })]} />);
    const marks = screen.getAllByText("optimistic unchoke");
    expect(marks).toHaveLength(1);
    expect(marks[0]!.closest("tr")?.querySelector("th")?.textContent).toBe("22222222");
  });

  it("shows a handshaking peer and an unknown progress", () => {
    render(<PeersTable peers={[peer({ hex: "3", peerId: null })]} />);
    const row = screen.getAllByRole("row")[1]!;
    const cells = within(row).getAllByRole("cell").map((c) => c.textContent);
    expect(cells[0]).toBe("Handshaking");
    expect(cells[5]).toBe("—");
  });

  it("says so when no one is connected", () => {
    render(<PeersTable peers={[]} />);
    expect(screen.getByText("No peers connected.")).toBeTruthy();
  });
});
