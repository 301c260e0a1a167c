// The repairs storage made on its own (a corrupt settings.json or models.json set aside), kept in
// `<dataDir>/repairs.json` until the user dismisses them: they happen at start, before any window or
// socket listens, and the app may even quit before one does, so an event alone could reach no one.
// Runs in main.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { Repair, StorageRepair } from '../../common/contract';
import { writeFileAtomic } from '../storage/atomicFile';

const RepairsFileSchema = z.object({
  version: z.literal(1),
  repairs: z.array(
    z.object({
      id: z.string().min(1).max(64),
      at: z.number(),
      file: z.string(),
      keptAs: z.string().nullable(),
      lost: z.array(z.string()),
      message: z.string(),
    }),
  ),
});

/** Holds the repairs not yet dismissed; tells `changed` the whole list after every change. */
export class RepairLog {
  private repairs: readonly Repair[] = [];
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly changed: (repairs: readonly Repair[]) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reads the repairs an earlier run kept. An unreadable file is dropped silently: it only ever
   * repeats notices, and repairing it would need a notice of its own.
   */
  async load(): Promise<void> {
    const text = await readFile(this.file, 'utf8').catch(() => null);
    let raw: unknown = null;
    try {
      raw = text === null ? null : JSON.parse(text);
    } catch {
      // Falls through as unreadable.
    }
    const parsed = RepairsFileSchema.safeParse(raw);
    this.repairs = parsed.success ? [...parsed.data.repairs, ...this.repairs] : this.repairs;
  }

  add(repair: Readonly<StorageRepair>): void {
    this.update([...this.repairs, { ...repair, id: randomUUID(), at: this.now() }]);
  }

  /** Every repair not yet dismissed, oldest first. */
  list(): readonly Repair[] {
    return this.repairs;
  }

  /** Forgets a repair the user has read (an unknown id is a no-op: another window dismissed it first). */
  dismiss(id: string): Promise<void> {
    const left = this.repairs.filter((r) => r.id !== id);
    if (left.length !== this.repairs.length) this.update(left);
    return this.writes;
  }

  /** Resolves when the file holds the list as it is now. */
  saved(): Promise<void> {
    return this.writes;
  }

  private update(repairs: readonly Repair[]): void {
    this.repairs = repairs;
    this.changed(repairs);
    const text = `${JSON.stringify({ version: 1, repairs }, null, 2)}\n`;
    // One write at a time, in order; a failed write leaves the list in memory (it shows this run anyway).
    this.writes = this.writes.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFileAtomic(this.file, text);
    }).catch(() => undefined);
  }
}
