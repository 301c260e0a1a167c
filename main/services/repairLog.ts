// The repairs storage made on its own (a corrupt settings.json or models.json set aside), kept until the
// user dismisses them: they happen at start, before any window or socket listens, so an event alone
// would reach no one. Runs in main.
import { randomUUID } from 'node:crypto';
import type { Repair, StorageRepair } from '../../common/contract';

/** Holds the repairs not yet dismissed; tells `changed` the whole list after every change. */
export class RepairLog {
  private repairs: readonly Repair[] = [];

  constructor(
    private readonly changed: (repairs: readonly Repair[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  add(repair: Readonly<StorageRepair>): void {
    this.repairs = [...this.repairs, { ...repair, id: randomUUID(), at: this.now() }];
    this.changed(this.repairs);
  }

  /** Every repair not yet dismissed, oldest first. */
  list(): readonly Repair[] {
    return this.repairs;
  }

  /** Forgets a repair the user has read (an unknown id is a no-op: another window dismissed it first). */
  dismiss(id: string): void {
    const left = this.repairs.filter((r) => r.id !== id);
    if (left.length === this.repairs.length) return;
    this.repairs = left;
    this.changed(this.repairs);
  }
}
