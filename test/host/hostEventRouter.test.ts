// The host's event routing while a renderer port carries the tokens: the owner (main) still gets the
// streamed text within 50 ms, so what it persists lags the reply by at most that. Runs under Vitest
// (Node) with fake timers.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HostEventRouter } from '../../main/host/hostEventRouter';
import type { HostEvent, HostOutbound } from '../../main/host/protocol';

beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
afterEach(() => vi.useRealTimers());

const token = (seq: number, text: string): HostEvent => ({ type: 'token', seq, id: 1, text, pos: 0, slot: 0 });

function routed(): { router: HostEventRouter; owner: HostOutbound[]; port: HostOutbound[] } {
  const owner: HostOutbound[] = [];
  const port: HostOutbound[] = [];
  const router = new HostEventRouter({ postMessage: (m) => owner.push(m) });
  router.attach({ postMessage: (m) => port.push(m) });
  return { router, owner, port };
}

describe('HostEventRouter with a port attached', () => {
  it('sends every token to the port and the owner their text, coalesced, within 50 ms', async () => {
    const { router, owner, port } = routed();
    router.emit(token(3, 'Once'));
    router.emit(token(3, ' upon'));
    expect(port).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(49);
    expect(owner).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(owner).toEqual([{ kind: 'event', event: { type: 'partial', seq: 3, text: 'Once upon' } }]);

    router.emit(token(3, ' a'));
    await vi.advanceTimersByTimeAsync(50);
    expect(owner.at(-1)).toEqual({ kind: 'event', event: { type: 'partial', seq: 3, text: ' a' } });
  });

  it('sends the owner the pending text before the event that ends the reply, and cache view ops to the port only', () => {
    const { router, owner, port } = routed();
    router.emit(token(4, 'Hi'));
    const header = { head: 0, nextPos: 1, evicted: 0, firstVisible: 0, offset: 0, sinkRopeShift: 0 };
    router.emit({ type: 'cacheView', viewSeq: 1, stream: 'c1', op: { kind: 'write', rows: [], rebased: false, header } });
    router.emit({ type: 'error', seq: 4, error: { code: 'internal', message: 'boom' } });
    expect(owner.map((m) => m.kind === 'event' && m.event.type)).toEqual(['partial', 'error']);
    expect(port.map((m) => m.kind === 'event' && m.event.type)).toEqual(['token', 'cacheView', 'error']);
  });
});
