// React access to the vanilla store: a provider and selector hooks (one selector per field; useShallow
// for derived lists). Renderer.
import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { AppState } from './appState';
import type { AppStore } from './appStore';

const StoreContext = createContext<AppStore | null>(null);

/** Makes `store` available to every component below. */
export function StoreProvider({ store, children }: { readonly store: AppStore; readonly children: ReactNode }) {
  return <StoreContext.Provider value={store}>{children}</StoreContext.Provider>;
}

/** The store itself, for actions (`getState().send(...)`) and transient subscriptions. */
export function useStoreApi(): AppStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error('useStoreApi outside <StoreProvider>');
  return store;
}

/** Subscribes to one selected value; re-renders only when it changes (Object.is). */
export function useAppStore<T>(selector: (state: AppState) => T): T {
  return useStore(useStoreApi(), selector);
}

/** Subscribes to a derived array or object, compared shallowly. */
export function useAppStoreShallow<T>(selector: (state: AppState) => T): T {
  return useStore(useStoreApi(), useShallow(selector));
}
