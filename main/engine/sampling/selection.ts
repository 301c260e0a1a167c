// Selection helpers for the sampler: top-k by min-heap and the packed sort keys + partition that the
// top-p quickselect uses. Runs in the engine host; allocation-free.

/** Ids below 2^21 pack with a 32-bit logit rank into one exact float64 sort key (32 + 21 = 53 bits). */
export const ID_SPACE = 2 ** 21;
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** A uint32 that orders float32 values from largest to smallest (-0 counts as +0). */
export function descendingRank(v: number): number {
  f32[0] = v === 0 ? 0 : v;
  const bits = u32[0];
  const ascending = bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
  return 0xffffffff - ascending;
}

/**
 * Lomuto partition of keys[lo, hi) (unique) around the median of three, moving the parallel
 * weights along; returns the pivot's final index. Smaller keys (more likely tokens) end up first.
 */
export function partition(keys: Float64Array, w: Float64Array, lo: number, hi: number): number {
  const swap = (a: number, b: number): void => {
    const k = keys[a];
    keys[a] = keys[b];
    keys[b] = k;
    const x = w[a];
    w[a] = w[b];
    w[b] = x;
  };
  const last = hi - 1;
  const mid = lo + ((hi - lo) >> 1);
  // Median of keys[lo], keys[mid], keys[last] moved to `last` as the pivot.
  if (keys[mid] < keys[lo]) swap(mid, lo);
  if (keys[last] < keys[lo]) swap(last, lo);
  if (keys[mid] < keys[last]) swap(mid, last);
  const pivot = keys[last];
  let store = lo;
  for (let j = lo; j < last; j++) {
    if (keys[j] < pivot) {
      if (j !== store) swap(j, store);
      store++;
    }
  }
  swap(store, last);
  return store;
}

/**
 * The k largest finite logits into `ids`/`vals` (a min-heap, worst at the root; equal logits keep the
 * lower id); returns how many were found (< k when fewer are finite). O(V log k) worst case.
 */
export function selectTopK(logits: Float32Array, k: number, ids: Int32Array, vals: Float32Array): number {
  let n = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (!(v > -Infinity)) continue;
    if (n < k) {
      // Sift up: later ids lose ties, so a parent is "worse" when its value is lower.
      let c = n++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (vals[p] < v || (vals[p] === v && ids[p] > i)) break;
        ids[c] = ids[p];
        vals[c] = vals[p];
        c = p;
      }
      ids[c] = i;
      vals[c] = v;
    } else if (v > vals[0]) {
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= n) break;
        const r = l + 1;
        const worse = r < n && (vals[r] < vals[l] || (vals[r] === vals[l] && ids[r] > ids[l])) ? r : l;
        if (vals[worse] > v || (vals[worse] === v && ids[worse] < i)) break;
        ids[c] = ids[worse];
        vals[c] = vals[worse];
        c = worse;
      }
      ids[c] = i;
      vals[c] = v;
    }
  }
  return n;
}
