// One WebSocket per tracker URL for all transfers, as WebTorrent does: each
// tracker client gets a virtual socket (WebSocketLike) sharing a real one.
// Every message from the tracker goes to every client on that socket; the
// clients already ignore messages for other infohashes (tracker-client.ts).
// A real socket closes when its last client lets go, and when it drops every
// client sees the close and reconnects with its own backoff (the first one
// back opens the new real socket, the others join it).
//
// The tracker limits swarms per connection (ours: 100 by default), so a real
// socket takes at most maxClientsPerSocket clients and another one is opened
// past that.
import type { WebSocketLike } from "./tracker-client.ts";

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

interface Group {
  readonly url: string;
  readonly socket: WebSocketLike;
  readonly members: Set<VirtualSocket>;
}

class VirtualSocket implements WebSocketLike {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { readonly data: unknown }) => void) | null = null;
  onclose: ((event: unknown) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  closed = false;

  constructor(
    private readonly group: Group,
    private readonly release: (v: VirtualSocket) => void,
  ) {}

  get readyState(): number {
    return this.closed ? CLOSED : this.group.socket.readyState;
  }

  send(data: string): void {
    if (this.closed) throw new Error("this tracker socket is closed");
    this.group.socket.send(data);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release(this);
  }
}

export class TrackerSocketPool {
  readonly #groups = new Map<string, Group[]>();

  constructor(
    private readonly createRealSocket: (url: string) => WebSocketLike,
    private readonly maxClientsPerSocket = 50,
  ) {}

  /** Real sockets open or opening now (for tests and diagnostics). */
  get realSocketCount(): number {
    let n = 0;
    for (const list of this.#groups.values()) n += list.length;
    return n;
  }

  /** A WebSocketLike for one tracker client (pass as the client's createSocket). */
  createSocket(url: string): WebSocketLike {
    const list = this.#groups.get(url) ?? [];
    let group = list.find((g) => g.members.size < this.maxClientsPerSocket && (g.socket.readyState === CONNECTING || g.socket.readyState === OPEN));
    if (group === undefined) {
      group = this.#open(url);
      list.push(group);
      this.#groups.set(url, list);
    }
    const virtual = new VirtualSocket(group, (v) => this.#release(group!, v));
    group.members.add(virtual);
    if (group.socket.readyState === OPEN) {
      // Already open: tell the new client once it has set its handlers.
      setTimeout(() => {
        if (!virtual.closed && group!.socket.readyState === OPEN) virtual.onopen?.({});
      }, 0);
    }
    return virtual;
  }

  #open(url: string): Group {
    const socket = this.createRealSocket(url);
    const group: Group = { url, socket, members: new Set() };
    socket.onopen = (event) => {
      for (const m of [...group.members]) if (!m.closed) m.onopen?.(event);
    };
    socket.onmessage = (event) => {
      for (const m of [...group.members]) if (!m.closed) m.onmessage?.(event);
    };
    socket.onerror = (event) => {
      for (const m of [...group.members]) if (!m.closed) m.onerror?.(event);
    };
    socket.onclose = (event) => {
      this.#forget(group);
      for (const m of [...group.members]) {
        if (m.closed) continue;
        m.closed = true;
        m.onclose?.(event);
      }
      group.members.clear();
    };
    return group;
  }

  #release(group: Group, v: VirtualSocket): void {
    group.members.delete(v);
    if (group.members.size > 0) return;
    this.#forget(group);
    group.socket.onopen = null;
    group.socket.onmessage = null;
    group.socket.onerror = null;
    group.socket.onclose = null;
    try {
      group.socket.close(1000, "no transfer uses this tracker now");
    } catch {
      // Already closing.
    }
  }

  #forget(group: Group): void {
    const list = this.#groups.get(group.url);
    if (list === undefined) return;
    const rest = list.filter((g) => g !== group);
    if (rest.length === 0) this.#groups.delete(group.url);
    else this.#groups.set(group.url, rest);
  }
}
