// KvStorage for a cache whose K/V rows live in device memory (DESIGN §3 "Storage, dtype and place"): the
// graph writes each step's rows there itself (model/deviceCache), and a host copy serves the rare O(C)
// operations (rebase, rewind, skipTo, snapshots). Runs in the engine host; bookkeeping of which copy is
// current, no device calls (the runner moves the bytes: deviceSteps.ts).
import type { RopeSpec } from '../rope';
import type { KvRows } from './kvRows';
import type { KvArray, KvFormat, KvStorage, RowsAt } from './kvStorage';

/** Where a device step's journal rows are taken from: called once per journaled slot during its commit. */
export type DeviceJournalSave = (slot: number, keyRows: KvArray, valueRows: KvArray, at: number) => void;

/**
 * The host copy of a device-resident cache and which side is current. The device holds every anchored
 * slot's pristine key (sinks and pin slots; the graph rotates them per step); the host copy holds the
 * layout of {@link KvRows} (rotated anchors, pristine copies aside). Host edits need a current host copy (the runner
 * pulls first) and make the device copy stale (the next step uploads the host copy).
 */
export class DeviceKvRows implements KvStorage {
  readonly format: KvFormat;
  /** The device holds rows the host copy lacks: host row reads need a pull first. */
  hostStale = false;
  /** The host copy holds rows the device lacks: the next step feeds the host copy. */
  deviceStale = true;
  /** Set for a device step's commit: the journal's rows then come from the device. */
  journalSave: DeviceJournalSave | null = null;

  constructor(
    private readonly host: KvRows,
    private readonly kvHeads: number,
    private readonly headDim: number,
    private readonly sink: number,
    private readonly window: number,
  ) {
    this.format = { dtype: host.format.dtype, place: 'device' };
  }

  get keys(): readonly KvArray[] {
    return this.host.keys;
  }

  get values(): readonly KvArray[] {
    return this.host.values;
  }

  get pristine(): readonly KvArray[] {
    return this.host.pristine;
  }

  copyPresent(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], P: number, n: number, past: number, at: RowsAt | null): void {
    this.edit().copyPresent(presentKeys, presentValues, P, n, past, at);
  }

  saveSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void {
    if (this.journalSave) this.journalSave(j, keyRows, valueRows, at);
    else this.current().saveSlot(j, keyRows, valueRows, at);
  }

  restoreSlot(j: number, keyRows: KvArray, valueRows: KvArray, at: number): void {
    this.edit().restoreSlot(j, keyRows, valueRows, at);
  }

  zeroSlot(j: number): void {
    this.edit().zeroSlot(j);
  }

  capturePristine(i: number): void {
    // A device step leaves the model's key in the sink slot: the device copy's pristine key.
    if (!this.journalSave) this.edit().capturePristine(i);
  }

  placeAnchor(i: number, rope: RopeSpec, delta: number): void {
    // The device rotates sinks and pins itself each step; a stale host copy is re-placed when pulled.
    if (!this.hostStale) this.host.placeAnchor(i, rope, delta);
  }

  copyPresentRow(presentKeys: readonly KvArray[], presentValues: readonly KvArray[], i: number, n: number, past: number, at: RowsAt | null, j: number): void {
    this.edit().copyPresentRow(presentKeys, presentValues, i, n, past, at, j);
  }

  copySlot(from: number, to: number): void {
    this.edit().copySlot(from, to);
  }

  rotateSlot(j: number, rope: RopeSpec, delta: number): void {
    this.edit().rotateSlot(j, rope, delta);
  }

  splicePins(at: number, remove: number, insert: number): void {
    this.edit().splicePins(at, remove, insert);
  }

  clear(held: readonly number[]): void {
    // The host copy's rows are a subset of the held slots': a slot is emptied only by a host edit.
    this.host.clear(held);
    this.hostStale = false;
    this.deviceStale = true;
  }

  bytes(): number {
    return this.host.bytes();
  }

  /** Keys as the device holds them: the host copy with each anchored slot's pristine rows (fresh arrays, for an upload). */
  deviceKeys(): KvArray[] {
    return this.keys.map((k, l) => {
      const out = k.slice();
      this.eachAnchorRun((pristineAt, slotAt, length) => out.set(this.pristine[l].subarray(pristineAt, pristineAt + length), slotAt));
      return out;
    });
  }

  /**
   * Takes the device's rows as the host copy (per layer `[kvHeads, C, headDim]`, anchors pristine); the
   * cache then re-places the anchors (SinkRingCache.pulledFromDevice).
   */
  pulled(keys: readonly KvArray[], values: readonly KvArray[]): void {
    for (let l = 0; l < this.keys.length; l++) {
      this.keys[l].set(keys[l]);
      this.values[l].set(values[l]);
      this.eachAnchorRun((pristineAt, slotAt, length) => this.pristine[l].set(keys[l].subarray(slotAt, slotAt + length), pristineAt));
    }
    this.hostStale = false;
  }

  /**
   * Calls `f(pristineAt, slotAt, length)` for each head's runs of anchored rows: the sinks (slots 0..S-1)
   * and the pin slots (S + W .. C-1), at their element offsets in a pristine and a cache array.
   */
  private eachAnchorRun(f: (pristineAt: number, slotAt: number, length: number) => void): void {
    const { kvHeads, headDim, sink: S, window: W } = this;
    const C = this.keys[0].length / (kvHeads * headDim);
    const A = C - W;
    for (let h = 0; h < kvHeads; h++) {
      f(h * A * headDim, h * C * headDim, S * headDim);
      f((h * A + S) * headDim, (h * C + S + W) * headDim, (A - S) * headDim);
    }
  }

  private current(): KvRows {
    if (this.hostStale) throw new Error('the KV cache lives on the device: pull it to the host (Runner.sync) before editing it there');
    return this.host;
  }

  private edit(): KvRows {
    const host = this.current();
    this.deviceStale = true;
    return host;
  }
}
