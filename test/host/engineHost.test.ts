// The engine host in a real worker thread: typed request/reply, the event stream, cancellation that gets
// through while session.run blocks the worker, snapshots on disk, and errors as typed replies.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheSettings, GenerateOptions } from '../../main/engine/chatTypes';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { HostRequestError, type EngineHostClient } from '../../main/host/engineHostClient';
import type { HostEvent } from '../../main/host/protocol';
import { startWorkerHost } from '../../main/host/workerTransport';
import { ensureFixture } from '../fixtures/llamaFixture';

let host: EngineHostClient;
let dir: string;
let tmp: string;

const cache: CacheSettings = { sink: 4, window: 32, positions: 'cache' };
const stream = 'chat';
const options = (maxTokens: number, seed = 1): GenerateOptions => ({ sampling: { ...DEFAULT_SAMPLING, seed }, maxTokens });
const chat = (content: string) => ({ kind: 'chat' as const, messages: [{ role: 'user' as const, content }] });

beforeAll(async () => {
  dir = (await ensureFixture('tiny')).dir;
  tmp = await mkdtemp(path.join(tmpdir(), 'ouro-host-'));
  host = startWorkerHost();
});

afterAll(async () => {
  await host?.close();
  await rm(tmp, { recursive: true, force: true });
});

function eventsOf(seq: number): HostEvent[] {
  const events: HostEvent[] = [];
  host.onEvent((e) => e.type !== 'cacheView' && e.seq === seq && events.push(e));
  return events;
}

describe('engine host (worker thread)', () => {
  it('answers generate before load with a typed no-model error', async () => {
    const err = await host.request('generate', { stream, prompt: chat('hi'), options: options(4), cache }).catch((e) => e);
    expect(err).toBeInstanceOf(HostRequestError);
    expect(err.code).toBe('no-model');
  });

  it('reports a broken model folder with the engine’s specific error and stays usable', async () => {
    const err = await host.request('load', { dir: path.join(tmp, 'nope') }).catch((e) => e);
    expect(err.code).toMatch(/^model\//);
    expect(err.message).toContain('nope');
  });

  it('loads the fixture and describes it', async () => {
    const info = await host.request('load', { dir, threads: 1 });
    expect(info.layers).toBe(2);
    expect(info.kvHeads).toBe(2);
    expect(info.hasChatTemplate).toBe(true);
    expect(info.ropeProbe.ok).toBe(true);
    expect(info.provider).toBe('cpu');
    expect(info.q4Compute).toBeNull();
  });

  it('says how a 4-bit model computes: int8 activations on CPU unless asked for exact', async () => {
    const q4 = (await ensureFixture('tiny-q4')).dir;
    expect((await host.request('load', { dir: q4, threads: 1 })).q4Compute).toBe('int8');
    expect((await host.request('load', { dir: q4, threads: 1, q4Compute: 'exact' })).q4Compute).toBe('exact');
    await host.request('load', { dir, threads: 1 });
  });

  it('streams token events, then done, with the seq of the request, and cache view ops numbered on their own', async () => {
    const ops: number[] = [];
    host.onEvent((e) => e.type === 'cacheView' && ops.push(e.viewSeq));
    const { seq, result } = host.start('generate', { stream, prompt: chat('hello'), options: options(40), cache });
    const events = eventsOf(seq);
    const done = await result;
    const tokens = events.filter((e) => e.type === 'token');
    expect(tokens.length).toBeGreaterThanOrEqual(done.stats.decodeTokens - 1);
    expect(ops.length).toBeGreaterThan(1);
    expect(ops).toEqual(ops.map((_, i) => ops[0] + i));
    expect(events.at(-1)?.type).toBe('done');
    // Running stats: one after the first token (with its time to first token), then every 32 tokens.
    const stats = events.filter((e) => e.type === 'stats');
    expect(stats.length).toBe(1 + Math.floor(done.stats.decodeTokens / 32));
    expect(stats[0].type === 'stats' && stats[0].stats.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(done.session).toMatchObject({ sink: 4, window: 32, positions: 'cache' });
    expect(done.stats.loadMs).toBeGreaterThan(0); // the first reply after a load reports it
    const view = await host.request('cacheView', { stream });
    // S + W slots: nothing is pinned, so no pin slots (the default budget of W/4 is a limit).
    expect(view!.pinBudget).toBe(8);
    expect(view!.slots).toHaveLength(36);
    expect(view!.texts).toHaveLength(36);
    expect(view!.nextPos).toBe(done.session.tokens);
  });

  it('cancels a running generation at the next token', async () => {
    const { seq, result } = host.start('generate', { stream, prompt: chat('go on'), options: options(100_000, 2), cache });
    let cancelled = false;
    host.onEvent((e) => {
      if (e.type === 'token' && e.seq === seq && !cancelled) {
        cancelled = true;
        void host.cancel(seq);
      }
    });
    const done = await result;
    expect(done.reason).toBe('cancelled');
    expect(done.stats.decodeTokens).toBeLessThan(50);
    expect(done.stats.loadMs).toBe(0);
  });

  it('snapshots to a file and restores the exact stream', async () => {
    const file = path.join(tmp, 'conv.kv');
    const before = await host.request('cacheView', { stream });
    const saved = await host.request('snapshot', { stream, path: file });
    expect(saved.tokens).toBe(before!.nextPos);
    await host.request('reset', { stream });
    const restored = await host.request('restore', { stream, path: file });
    expect(restored.tokens).toBe(saved.tokens);
    const after = await host.request('cacheView', { stream });
    // Equal but for the view's op number: the restore sent one (a reset without `view` sends none).
    expect({ ...after, seq: 0 }).toEqual({ ...before, seq: 0 });
    expect(after!.seq).toBe(before!.seq + 1);
  });

  it('rejects a corrupt snapshot with a typed error', async () => {
    const file = path.join(tmp, 'bad.kv');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, 'not a snapshot');
    const err = await host.request('restore', { stream, path: file }).catch((e) => e);
    expect(err.code).toBe('snapshot-invalid');
  });

  it('previews how many visible tokens a draft would push out of the window', async () => {
    const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const preview = await host.request('preview', { stream, prompt: chat(long), cache });
    expect(preview.draftTokens).toBeGreaterThan(32);
  });
});

describe('engine host streams', () => {
  it('keeps streams apart by id and never replaces one that holds tokens', async () => {
    await host.request('reset', { stream });
    const a = await host.request('generate', { stream: 'a', prompt: chat('one'), options: options(6, 3), cache });
    const b = await host.request('generate', { stream: 'b', prompt: chat('two words'), options: options(6, 3), cache });
    const listed = await host.request('streams', {});
    expect(listed.map((s) => [s.id, s.tokens])).toEqual([
      ['a', a.session.tokens],
      ['b', b.session.tokens],
    ]);
    expect(listed[0].kvBytes).toBeGreaterThan(0);
    // A turn on 'a' sees only 'a': its second turn feeds just the new text, nothing re-processed.
    const again = await host.request('generate', {
      stream: 'a',
      prompt: { kind: 'chat', messages: [{ role: 'user', content: 'one' }, { role: 'assistant', content: a.text }, { role: 'user', content: 'more' }] },
      options: options(4, 3),
      cache,
    });
    expect(again.stats.reprocessedTokens).toBe(0);
    expect((await host.request('cacheView', { stream: 'b' }))!.nextPos).toBe(b.session.tokens);

    const err = await host.request('generate', { stream: 'a', prompt: chat('x'), options: options(2), cache: { ...cache, window: 16 } }).catch((e) => e);
    expect(err.code).toBe('stream-settings');
    expect(err.message).toContain(`holds ${again.session.tokens} tokens`);
    await host.request('reset', { stream: 'a' });
    const fresh = await host.request('generate', { stream: 'a', prompt: chat('x'), options: options(2), cache: { ...cache, window: 16 } });
    expect(fresh.session.window).toBe(16);
    await host.request('reset', { stream: 'a' });
    await host.request('reset', { stream: 'b' });
    expect(await host.request('streams', {})).toEqual([]);
  });
});
