// The browser app's one zustand store, in slices:
//   transfers — the manager's throttled TransferView projection, keyed by infohash;
//   shares    — files being hashed into a new torrent (with their cancel handles);
//   ui        — notices (errors and confirmations a person must see) and storage usage.
// All updates go through `set`; actions live in the store so they can be called
// outside React (`store.getState().actions.share(...)`). The UI never touches the
// engine: it calls the TransferManager given to createSwarmStore and reads views.
import { createStore, type StoreApi } from "zustand/vanilla";
import type { StorageUsage, TransferManager, TransferView } from "../swarm/types.ts";

export interface SharedFile {
  readonly file: File;
  /** "/"-joined path inside the share; a folder share starts with the folder's name. */
  readonly path: string;
}

export type NoticeKind = "error" | "info";

export interface Notice {
  readonly id: number;
  readonly kind: NoticeKind;
  readonly title: string;
  readonly message: string;
}

/** Files being hashed: the manager's view appears only once hashing reports, so the UI keeps its own. */
export interface PendingShare {
  readonly id: number;
  readonly name: string;
  readonly totalBytes: number;
  readonly fileCount: number;
  readonly controller: AbortController;
}

export interface TransfersSlice {
  /** Transfers by infohash, in the manager's order. Replaced, never mutated. */
  readonly transfers: ReadonlyMap<string, TransferView>;
  readonly transferOrder: readonly string[];
  /** The transfer this page just created by sharing (its link is shown first). */
  readonly lastShared: string | null;
}

export interface SharesSlice {
  readonly pendingShares: readonly PendingShare[];
}

export interface UiSlice {
  readonly notices: readonly Notice[];
  readonly storage: StorageUsage | null;
  readonly unsupportedReason: string | null;
  /** The upload cap of each transfer (bytes/s), remembered across reloads; null for none. */
  readonly uploadLimitBytesPerS: number | null;
}

export interface SwarmActions {
  /** Hashes files into a torrent and seeds it; resolves with the infohash, or null when cancelled or failed. */
  share(files: readonly SharedFile[], name?: string): Promise<string | null>;
  cancelShare(id: number): void;
  /** Opens a share link (magnet, bare infohash) or a .torrent; resolves with the infohash or null (the error is a notice). */
  open(source: { readonly link: string } | { readonly torrentFile: File }): Promise<string | null>;
  remove(infoHash: string): Promise<void>;
  pause(infoHash: string): void;
  resume(infoHash: string): void;
  setFilePriority(infoHash: string, fileIndex: number, priority: "skip" | "normal" | "high"): void;
  /** Caps each transfer's upload (bytes/s, above 0) or lifts the cap (null); applied at once and remembered. */
  setUploadLimit(bytesPerS: number | null): void;
  refreshStorage(): Promise<void>;
  notify(kind: NoticeKind, title: string, message: string): void;
  dismissNotice(id: number): void;
  /** Feeds a new projection from the manager (called by its subscription). */
  receiveTransfers(list: readonly TransferView[]): void;
}

export interface SwarmState extends TransfersSlice, SharesSlice, UiSlice {
  readonly manager: TransferManager;
  readonly actions: SwarmActions;
}

export type SwarmStore = StoreApi<SwarmState> & {
  /** Subscribes the store to the manager; returns the unsubscribe. */
  connect(): () => void;
};

type SetState = StoreApi<SwarmState>["setState"];
type GetState = StoreApi<SwarmState>["getState"];

function isAbort(error: unknown): boolean {
  return error instanceof DOMException ? error.name === "AbortError" : error instanceof Error && error.name === "AbortError";
}

function messageOf(error: unknown): string {
  if (error instanceof Error && error.message) return error.message;
  return String(error);
}

const createTransfersSlice = (): TransfersSlice => ({
  transfers: new Map(),
  transferOrder: [],
  lastShared: null,
});

const createSharesSlice = (): SharesSlice => ({ pendingShares: [] });

const createUiSlice = (manager: TransferManager, uploadLimitBytesPerS: number | null): UiSlice => ({
  notices: [],
  storage: null,
  unsupportedReason: manager.unsupportedReason,
  uploadLimitBytesPerS,
});

/** Where settings are remembered (localStorage in the page). */
export type SettingsStorage = Pick<Storage, "getItem" | "setItem" | "removeItem">;

export const uploadLimitKey = "swarmdrop.uploadLimitBytesPerS";

function validLimit(value: number | null): value is number {
  return value !== null && Number.isFinite(value) && value > 0;
}

function readUploadLimit(settings: SettingsStorage | null): number | null {
  try {
    const text = settings?.getItem(uploadLimitKey) ?? null;
    const value = text === null ? null : Number(text);
    return validLimit(value) ? value : null;
  } catch {
    // Storage refused (privacy mode): no remembered limit.
    return null;
  }
}

function defaultSettings(): SettingsStorage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

function createActions(set: SetState, get: GetState, manager: TransferManager, settings: SettingsStorage | null): SwarmActions {
  let nextId = 1;
  let lastStoredBytes = 0;
  let lastStorageReadMs = 0;
  const actions: SwarmActions = {
    async share(files, name) {
      if (files.length === 0) return null;
      const id = nextId++;
      const controller = new AbortController();
      const shareName = name ?? defaultShareName(files);
      const pending: PendingShare = {
        id,
        name: shareName,
        totalBytes: files.reduce((sum, f) => sum + f.file.size, 0),
        fileCount: files.length,
        controller,
      };
      set((s) => ({ pendingShares: [...s.pendingShares, pending] }));
      try {
        const infoHash = await manager.share(files, { signal: controller.signal, ...(name === undefined ? {} : { name }) });
        set({ lastShared: infoHash });
        return infoHash;
      } catch (error) {
        if (isAbort(error) || controller.signal.aborted) {
          actions.notify("info", "Sharing cancelled", `Stopped hashing “${shareName}”. Nothing was shared.`);
        } else {
          actions.notify("error", `Could not share “${shareName}”`, messageOf(error));
        }
        return null;
      } finally {
        set((s) => ({ pendingShares: s.pendingShares.filter((p) => p.id !== id) }));
        void actions.refreshStorage();
      }
    },
    cancelShare(id) {
      get().pendingShares.find((p) => p.id === id)?.controller.abort();
    },
    async open(source) {
      try {
        return await manager.open(source);
      } catch (error) {
        const what = "link" in source ? "This share link cannot be opened" : `“${source.torrentFile.name}” cannot be opened`;
        actions.notify("error", what, messageOf(error));
        return null;
      }
    },
    async remove(infoHash) {
      const name = get().transfers.get(infoHash)?.name ?? infoHash;
      try {
        await manager.remove(infoHash);
        set((s) => {
          if (!s.transfers.has(infoHash)) return {};
          const transfers = new Map(s.transfers);
          transfers.delete(infoHash);
          return {
            transfers,
            transferOrder: s.transferOrder.filter((h) => h !== infoHash),
            lastShared: s.lastShared === infoHash ? null : s.lastShared,
          };
        });
      } catch (error) {
        actions.notify("error", `Could not remove “${name}”`, messageOf(error));
      }
      await actions.refreshStorage();
    },
    pause(infoHash) {
      manager.pause(infoHash);
    },
    resume(infoHash) {
      manager.resume(infoHash);
    },
    setFilePriority(infoHash, fileIndex, priority) {
      manager.setFilePriority(infoHash, fileIndex, priority);
    },
    setUploadLimit(bytesPerS) {
      const value = validLimit(bytesPerS) ? bytesPerS : null;
      try {
        manager.setUploadLimit(value);
      } catch (error) {
        actions.notify("error", "Could not set the upload limit", messageOf(error));
        return;
      }
      set({ uploadLimitBytesPerS: value });
      try {
        if (value === null) settings?.removeItem(uploadLimitKey);
        else settings?.setItem(uploadLimitKey, String(value));
      } catch {
        // Not remembered across reloads; it applies to this page all the same.
      }
    },
    async refreshStorage() {
      try {
        const storage = await manager.storageUsage();
        const old = get().storage;
        if (!old || old.usedBytes !== storage.usedBytes || old.quotaBytes !== storage.quotaBytes) set({ storage });
      } catch {
        // Storage estimates are advisory; the bar keeps its last value.
      }
    },
    notify(kind, title, message) {
      const notice: Notice = { id: nextId++, kind, title, message };
      // The same message twice in a row is one notice, not a growing pile.
      set((s) => {
        const last = s.notices.at(-1);
        if (last && last.title === title && last.message === message) return {};
        return { notices: [...s.notices, notice] };
      });
    },
    dismissNotice(id) {
      set((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
    },
    receiveTransfers(list) {
      // Stored bytes moved: re-read the storage estimate (at most once a second).
      const stored = list.reduce((sum, v) => sum + v.storedBytes, 0);
      if (stored !== lastStoredBytes && Date.now() - lastStorageReadMs >= 1000) {
        lastStoredBytes = stored;
        lastStorageReadMs = Date.now();
        void actions.refreshStorage();
      }
      const old = get().transfers;
      const transfers = new Map<string, TransferView>();
      for (const view of list) transfers.set(view.infoHash, view);
      const transferOrder = list.map((v) => v.infoHash);
      const same = transferOrder.length === old.size && list.every((v) => old.get(v.infoHash) === v);
      if (same) return;
      set({ transfers, transferOrder: sameOrder(get().transferOrder, transferOrder) ? get().transferOrder : transferOrder });
    },
  };
  return actions;
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The name the manager will give (web/swarm/hashing.ts planTorrent): the folder, the single file, or "N files". */
export function defaultShareName(files: readonly SharedFile[]): string {
  const first = files[0];
  if (!first) return "Shared files";
  const top = first.path.split("/")[0] ?? first.file.name;
  const oneFolder = first.path.includes("/") && files.every((f) => f.path.split("/")[0] === top && f.path.includes("/"));
  if (oneFolder) return top;
  if (files.length === 1) return first.path.split("/").at(-1) || first.file.name;
  return `${files.length} files`;
}

export interface SwarmStoreOptions {
  /** How often storage usage is re-read while transfers change (ms). */
  readonly storageRefreshMs?: number;
  /** Where settings (the upload limit) are remembered; localStorage by default, null for nowhere. */
  readonly settings?: SettingsStorage | null;
}

export function createSwarmStore(manager: TransferManager, options: SwarmStoreOptions = {}): SwarmStore {
  const storageRefreshMs = options.storageRefreshMs ?? 5_000;
  const settings = options.settings === undefined ? defaultSettings() : options.settings;
  const store = createStore<SwarmState>()((set, get) => ({
    ...createTransfersSlice(),
    ...createSharesSlice(),
    ...createUiSlice(manager, readUploadLimit(settings)),
    manager,
    actions: createActions(set, get, manager, settings),
  }));
  const connect = (): (() => void) => {
    const { actions, uploadLimitBytesPerS } = store.getState();
    // The remembered limit holds for every transfer, including those resumed on load.
    if (uploadLimitBytesPerS !== null && manager.unsupportedReason === null) actions.setUploadLimit(uploadLimitBytesPerS);
    const unsubscribe = manager.subscribe((list) => actions.receiveTransfers(list));
    void actions.refreshStorage();
    const timer = setInterval(() => void actions.refreshStorage(), storageRefreshMs);
    return () => {
      unsubscribe();
      clearInterval(timer);
    };
  };
  return Object.assign(store, { connect });
}
