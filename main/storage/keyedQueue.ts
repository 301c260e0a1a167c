// Per-key serial execution: tasks for one key run one after another, different keys run freely.
// Runs in the main process (storage); plain Node, no electron.

/**
 * Serialises async tasks per key (one conversation file = one key), so two appends never
 * interleave their bytes and a read never sees a half-written record of this process.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `task` after every task queued earlier for `key` has settled; a failure does not block later tasks. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once every task queued so far for `key` (or for every key) has settled. */
  async idle(key?: string): Promise<void> {
    if (key !== undefined) {
      await this.tails.get(key);
      return;
    }
    await Promise.all([...this.tails.values()]);
  }
}
