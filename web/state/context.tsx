// Hands the one store (and through it the one TransferManager) to components.
// main.tsx creates the manager and the store once; tests pass their own.
import { createContext, useContext, type ReactNode } from "react";
import { useStore } from "zustand";
import type { SwarmActions, SwarmState, SwarmStore } from "./store.ts";

const StoreContext = createContext<SwarmStore | null>(null);

export function SwarmProvider({ store, children }: { readonly store: SwarmStore; readonly children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

export function useSwarmStore(): SwarmStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error("SwarmProvider is missing above this component");
  return store;
}

/** Narrow selector hook: components re-render only when what they select changes. */
export function useSwarm<T>(selector: (state: SwarmState) => T): T {
  return useStore(useSwarmStore(), selector);
}

export function useActions(): SwarmActions {
  return useSwarm((s) => s.actions);
}
