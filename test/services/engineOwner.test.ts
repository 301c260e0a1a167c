// The engine's owner over a real worker host: stream ids per client, a stream never replaced silently
// when its settings change (reset first, said so), the turn count that refuses a full queue, and stream
// records dropped with the model. Runs under Vitest (Node).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheSettings, GenerateOptions } from '../../main/engine/chatTypes';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import { startWorkerHost } from '../../main/host/workerTransport';
import { EngineBusyError, EngineOwner } from '../../main/services/engineOwner';
import { HostSupervisor } from '../../main/services/hostSupervisor';
import { ensureFixture } from '../fixtures/llamaFixture';

let supervisor: HostSupervisor;
let owner: EngineOwner;
let dir: string;
const cache: CacheSettings = { sink: 4, window: 32, positions: 'cache' };
const options = (maxTokens: number): GenerateOptions => ({ sampling: { ...DEFAULT_SAMPLING, seed: 4 }, maxTokens });
const prompt = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'hello' }] };

beforeAll(async () => {
  dir = (await ensureFixture('tiny')).dir;
  supervisor = new HostSupervisor({ host: startWorkerHost() });
  owner = new EngineOwner(supervisor);
  await owner.request('load', { dir, threads: 1 });
});

afterAll(async () => {
  await supervisor?.close();
});

describe('EngineOwner', () => {
  it('hands out distinct stream ids per client', () => {
    const ids = [owner.newStream('chat'), owner.newStream('api'), owner.newStream('api')];
    expect(new Set(ids).size).toBe(3);
    expect(ids[1]).toMatch(/^api-/);
  });

  it('resets a stream whose settings changed before the next turn, and says so', async () => {
    const stream = owner.newStream('chat');
    const first = owner.generate({ stream, prompt, options: options(4), cache });
    expect(first.rebuilt).toBe(false);
    expect((await first.result).session.window).toBe(32);
    expect(owner.holds(stream)).toBe(true);
    const same = owner.generate({ stream, prompt, options: options(4), cache });
    expect(same.rebuilt).toBe(false);
    await same.result;
    const changed = owner.generate({ stream, prompt, options: options(4), cache: { ...cache, window: 16 } });
    expect(changed.rebuilt).toBe(true);
    const result = await changed.result;
    expect(result.session.window).toBe(16);
    // A fresh stream: the whole prompt was fed, nothing was left of the old one.
    expect(result.stats.prefillTokens).toBe(result.stats.promptTokens);
  });

  it('refuses a turn beyond the queue and counts turns across clients', async () => {
    const a = owner.generate({ stream: owner.newStream('api'), prompt, options: options(64), cache });
    const b = owner.generate({ stream: owner.newStream('chat'), prompt, options: options(2), cache });
    expect(owner.queued).toBe(2);
    expect(() => owner.admit(1)).toThrow(EngineBusyError);
    expect(() => owner.admit(2)).not.toThrow();
    await Promise.all([a.result, b.result]);
    expect(owner.queued).toBe(0);
  });

  it('forgets every stream when the model is loaded again', async () => {
    const stream = owner.newStream('api');
    await owner.generate({ stream, prompt, options: options(2), cache }).result;
    let lost = 0;
    owner.onStreamsLost(() => lost++);
    await owner.request('load', { dir, threads: 1 });
    expect(owner.holds(stream)).toBe(false);
    expect(lost).toBe(1);
    expect(await owner.request('streams', {})).toEqual([]);
  });
});
