// A minimal fan-out of app events to any number of listeners (windows, WebSocket clients). Runs in main
// or in the Node process of the browser transport.

/** Delivers each event to every listener; a throwing listener does not stop the others. */
export class EventHub<T> {
  private readonly listeners = new Set<(event: T) => void>();

  emit = (event: T): void => {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken subscriber (a closed window or socket) must not starve the rest.
      }
    }
  };

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: (event: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
