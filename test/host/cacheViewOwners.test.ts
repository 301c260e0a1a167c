// `cacheView` with the conversation's messages: every held slot names the message its token spells and
// the offset in it, markup names none, and the sinks pin the system prompt's start. Real worker host,
// fixture model, S=4, W=32. Runs under Vitest (Node).
import type { ChatMessage } from '../../common/chat';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheSettings } from '../../main/engine/chatTypes';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import type { EngineHostClient } from '../../main/host/engineHostClient';
import { startWorkerHost } from '../../main/host/workerTransport';
import { ensureFixture } from '../fixtures/llamaFixture';

let host: EngineHostClient;
const cache: CacheSettings = { sink: 4, window: 32, positions: 'cache' };

beforeAll(async () => {
  host = startWorkerHost();
  await host.request('load', { dir: (await ensureFixture('tiny')).dir, threads: 1 });
});

afterAll(async () => {
  await host?.close();
});

/** Display text back to plain text for comparison (the view shows `\n` as `↵`). */
const plain = (display: string) => display.replaceAll('↵', '\n');

describe('cacheView owners', () => {
  it('maps each held token to its message and offset, through two turns past the window', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'The assistant is kind.' },
      { role: 'user', content: 'What is the name of the dog?' },
    ];
    const first = await host.request('generate', {
      stream: 'chat',
      prompt: { kind: 'chat', messages },
      options: { sampling: { ...DEFAULT_SAMPLING, seed: 7 }, maxTokens: 20 },
      cache,
    });
    messages.push({ role: 'assistant', content: first.text }, { role: 'user', content: 'she had an idea' });
    const second = await host.request('generate', {
      stream: 'chat',
      prompt: { kind: 'chat', messages },
      options: { sampling: { ...DEFAULT_SAMPLING, seed: 8 }, maxTokens: 14 },
      cache,
    });
    messages.push({ role: 'assistant', content: second.text });

    const view = (await host.request('cacheView', { stream: 'chat', messages }))!;
    expect(view.nextPos).toBeGreaterThan(36);
    const owners = view.owners!;
    // S + W slots: nothing is pinned, so no pin slots (the default budget of W/4 is a limit).
    expect(owners.message).toHaveLength(36);
    let owned = 0;
    for (const s of view.slots) {
      const m = owners.message[s.slot];
      if (s.pos < 0) expect(m).toBe(-1);
      if (m < 0) continue;
      owned++;
      const text = plain(view.texts[s.slot]).trimStart();
      const at = owners.char[s.slot];
      // The token's text continues the message at the offset given (a word-start space may sit before
      // it). Only the prompts are checked to the character: the random model's replies are broken bytes.
      if (messages[m].role !== 'assistant' && text) expect(messages[m].content.slice(at).trimStart().startsWith(text), `${text} @${at}`).toBe(true);
      else expect(at).toBeLessThanOrEqual(messages[m].content.length);
    }
    expect(owned).toBeGreaterThan(10);
    // The window holds the second question and the second reply.
    expect(new Set(owners.message)).toEqual(new Set([-1, 3, 4]));
    // The four sinks hold `<|im_start|>`, `▁s`, `y`, `st`: markup, nothing of the system prompt pinned.
    expect(owners.pinnedChars).toEqual([0, 0, 0, 0, 0]);
    // The newest held token belongs to the last reply.
    const newest = view.slots.find((s) => s.pos === view.nextPos - 1)!;
    if (owners.message[newest.slot] >= 0) expect(owners.message[newest.slot]).toBe(4);
    // Without messages the view is as before.
    expect((await host.request('cacheView', { stream: 'chat' }))!.owners).toBeUndefined();
  });
});
