// The attention view's data (DESIGN §3 "Attention view"): how much of the last query's attention each
// cache slot received, per layer and averaged over layers, and the summaries the panel, the CLI and the
// eval print (share to the sinks, the most-attended slots). Pure; built in the engine host.

/** Attention of one step's last query, by slot after the step (each slot's mass went to the token it now holds). */
export interface SlotAttention {
  /** Per layer, per slot (length C): the mean over heads of the post-softmax weight. */
  readonly layers: readonly Float32Array[];
  /** Per slot: the mean of `layers` over layers. */
  readonly mean: Float32Array;
}

/** A slot, the original position of the token it holds, and the attention mass it received. */
export interface AttendedSlot {
  readonly slot: number;
  readonly pos: number;
  readonly mass: number;
}

/**
 * The app's attention view fetches a step's attention at most this often (like the streamed text's
 * batching): the steps in between fetch, lay out and send nothing, so an open view costs a few steps a
 * second, not every step. The CLI and the eval take every step.
 */
export const ATTENTION_FRAME_MS = 50;

/** How many most-attended slots the summaries list. */
export const TOP_SLOTS = 5;

/** The share of `mass` (one row over the C slots) that went to the S sink slots. */
export function sinkShare(mass: ArrayLike<number>, sink: number): number {
  const n = mass.length;
  let sinks = 0;
  for (let j = 0; j < Math.min(sink, n); j++) sinks += mass[j];
  // Two straight loops, no branch per slot: the frame takes this for every layer (L × C per frame).
  let total = sinks;
  for (let j = sink; j < n; j++) total += mass[j];
  return total > 0 ? sinks / total : 0;
}

/**
 * The `k` slots with the most mass, most first (ties: lower slot first), with the position each holds
 * (`slotPos`); slots with none are left out.
 */
export function topSlots(mass: ArrayLike<number>, slotPos: ArrayLike<number>, k = TOP_SLOTS): AttendedSlot[] {
  const top: AttendedSlot[] = [];
  for (let slot = 0; slot < mass.length; slot++) {
    const m = mass[slot];
    if (!(m > 0) || (top.length === k && m <= top[k - 1].mass)) continue;
    let at = top.length;
    while (at > 0 && top[at - 1].mass < m) at--;
    top.splice(at, 0, { slot, pos: slotPos[slot], mass: m });
    if (top.length > k) top.pop();
  }
  return top;
}

/**
 * What the attention view shows of one step for a layer choice (`layer` null: the mean over layers): the
 * mass per slot, the sinks' share and the most-attended slots. Sent to the renderer with the cache view
 * while its Attention mode is open.
 */
export interface AttentionFrame {
  /** Null: averaged over layers; else the 0-based layer shown. */
  readonly layer: number | null;
  /** Layers whose rows were fetched (0 when only their mean was). */
  readonly layerCount: number;
  /** Per slot (length C). */
  readonly mass: readonly number[];
  readonly sinkShare: number;
  /** Per layer: the share of its attention that went to the sinks (StreamingLLM: large from layer 2 on); empty when only the mean was fetched. */
  readonly layerSinkShare: readonly number[];
  readonly top: readonly AttendedSlot[];
}

/** Frame values are rounded to this many decimals: the panel's log scale starts at 1e-4, and a frame crosses a process boundary per token. */
const FRAME_SCALE = 1e7;

/**
 * The frame of `attention` for `layer` (null: the mean), for a cache of `sink` sinks whose slots hold
 * positions `slotPos`: fresh arrays (the attention's buffers are reused by the next step), the mass per
 * slot rounded to 7 decimals.
 */
export function attentionFrame(attention: Readonly<SlotAttention>, layer: number | null, sink: number, slotPos: ArrayLike<number>): AttentionFrame {
  const row = layer === null ? attention.mean : attention.layers[layer];
  if (row === undefined) throw new RangeError(`layer ${layer} is outside 0..${attention.layers.length - 1}`);
  // A plain loop: Array.from with a map callback cost several times more per frame.
  const mass = new Array<number>(row.length);
  for (let j = 0; j < row.length; j++) mass[j] = Math.round(row[j] * FRAME_SCALE) / FRAME_SCALE;
  return {
    layer,
    layerCount: attention.layers.length,
    mass,
    sinkShare: sinkShare(row, sink),
    layerSinkShare: attention.layers.map((l) => sinkShare(l, sink)),
    top: topSlots(row, slotPos),
  };
}

/** Whether the loaded model can report attention: its layer count, and why not (fused attention ops) or null. */
export interface AttentionAvailability {
  readonly layers: number;
  readonly unavailable: string | null;
}

/** A share as the panel prints it: "41.2%", "0.35%", "0.0012%", "0" for none. */
export function formatShare(mass: number): string {
  if (!(mass > 0)) return '0';
  const pct = mass * 100;
  return `${pct >= 10 ? pct.toFixed(1) : pct.toPrecision(2)}%`;
}
