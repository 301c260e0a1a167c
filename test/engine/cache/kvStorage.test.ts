// K/V rows in their own mapping (allocKvMapped, the compact past's mirror): a resizable ArrayBuffer, resident
// only as rows are written and handed back when detached, not in malloc's heap, whose freed pages stayed
// resident into the peak at depth 2048 (bench/README section 10, group 6).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { allocKvMapped, detachNow } from '../../../main/engine/cache/kvStorage';

type Es2024Buffer = ArrayBuffer & { readonly resizable: boolean };

/** This process's resident anonymous memory, MiB (Linux). */
function rssAnonMiB(): number {
  return Number(/^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;
}

describe('allocKvMapped', () => {
  test('a zeroed array of the dtype, in a resizable buffer of exactly its bytes', () => {
    const f32 = allocKvMapped('float32', 1000);
    const f16 = allocKvMapped('float16', 1000);
    expect(f32).toBeInstanceOf(Float32Array);
    expect(f16).toBeInstanceOf(Uint16Array);
    expect([f32.length, f16.length]).toEqual([1000, 1000]);
    expect([f32.buffer.byteLength, f16.buffer.byteLength]).toEqual([4000, 2000]);
    expect((f32.buffer as Es2024Buffer).resizable).toBe(true);
    expect(f32.every((x) => x === 0) && f16.every((x) => x === 0)).toBe(true);
  });

  test.runIf(process.platform === 'linux')('its pages are resident once written and go back to the system when the buffer is detached', () => {
    const mib = 64;
    const before = rssAnonMiB();
    const rows = allocKvMapped('float32', (mib * 1048576) / 4);
    const allocated = rssAnonMiB();
    rows.fill(1);
    const written = rssAnonMiB();
    expect(detachNow(rows)).toBe(mib * 1048576);
    expect(rows.length).toBe(0);
    const detached = rssAnonMiB();
    expect(allocated - before).toBeLessThan(mib / 4);
    expect(written - before).toBeGreaterThan((mib * 3) / 4);
    expect(written - detached).toBeGreaterThan((mib * 3) / 4);
  });
});

describe('detachNow', () => {
  test('frees a buffer only through a view of all of it: a part may share its bytes with another view', () => {
    const whole = new Float32Array(256);
    const part = whole.subarray(16, 32);
    const tail = new Float32Array(whole.buffer, 4);
    expect(detachNow(part)).toBe(0);
    expect(detachNow(tail)).toBe(0);
    expect(whole.length).toBe(256);
    expect(detachNow(whole)).toBe(1024);
    expect([whole.length, part.length, whole.buffer.byteLength]).toEqual([0, 0, 0]);
  });
});
