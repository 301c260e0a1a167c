// The cache view protocol end to end in the engine host: the renderer's mirror, fed nothing but the
// host's numbered ops, equals the host's full view (every slot's position, RoPE position, token, text,
// message and offset; the counters; pinned and unfed messages) after replies past the window, exact
// rewinds (a regenerate, the rewind verb), a rewind beyond the undo journal, a rebuild with new
// settings, a reset for another conversation and a snapshot restore; a quiet turn on another stream
// (the local server's) sends none. Real worker host, fixture model, S=4, W=32. Vitest (Node).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../common/chat';
import { selfContained, type CacheFullView, type CacheViewEvent } from '../../common/cacheView';
import type { CacheSettings } from '../../main/engine/chatTypes';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import type { EngineHostClient } from '../../main/host/engineHostClient';
import { startWorkerHost } from '../../main/host/workerTransport';
import { CacheMirror } from '../../renderer/state/cacheMirror';
import { ensureFixture } from '../fixtures/llamaFixture';

let host: EngineHostClient;
let tmp: string;
const ops: CacheViewEvent[] = [];
const mirror = new CacheMirror();
/** Ops that neither followed the last one nor replaced everything (none expected). */
const gaps: string[] = [];

const cache: CacheSettings = { sink: 4, window: 32, positions: 'cache' };
const STREAM = 'c1';
/** The host's id of the stream the conversations take turns on (as the app's chats do). */
const HOST_STREAM = 'chat-1';

beforeAll(async () => {
  tmp = await mkdtemp(path.join(tmpdir(), 'ouro-view-'));
  host = startWorkerHost();
  host.onEvent((e) => {
    if (e.type !== 'cacheView') return;
    ops.push(e);
    // The receiver's rule: an op applies when it follows the last one, or replaces everything.
    const follows = mirror.loaded && e.stream === mirror.stream && e.viewSeq === mirror.seq + 1;
    if (follows || selfContained(e.op)) mirror.apply(e.viewSeq, e.stream, e.op);
    else gaps.push(`op ${e.viewSeq} (${e.op.kind}) after ${mirror.seq}`);
  });
  await host.request('load', { dir: (await ensureFixture('tiny')).dir, threads: 1 });
});

afterAll(async () => {
  await host?.close();
  await rm(tmp, { recursive: true, force: true });
});

/** A conversation whose message ids are `m<index>` ('' for the system prompt). */
function labelled(messages: readonly ChatMessage[]) {
  return { stream: STREAM, ids: messages.map((m, i) => (m.role === 'system' ? '' : `m${i}`)) };
}

async function reply(messages: ChatMessage[], settings: CacheSettings, seed: number, maxTokens: number): Promise<string> {
  const view = { ...labelled(messages), replyId: `m${messages.length}` };
  const result = await host.request('generate', { stream: HOST_STREAM, prompt: { kind: 'chat', messages }, options: { sampling: { ...DEFAULT_SAMPLING, seed }, maxTokens }, cache: settings, view });
  messages.push({ role: 'assistant', content: result.text });
  return result.text;
}

/** The mirror equals the host's full view of `messages`, slot by slot. */
async function expectMirrored(messages: readonly ChatMessage[]): Promise<CacheFullView> {
  const view = (await host.request('cacheView', { stream: HOST_STREAM, messages, view: labelled(messages) }))!;
  expect(gaps).toEqual([]);
  expect(mirror.seq).toBe(view.seq);
  expect(mirror.stream).toBe(view.stream);
  const { sink, window, capacity, pinBudget, nextPos, head, evicted, firstVisible, offset } = mirror;
  expect({ sink, window, capacity, pinBudget, nextPos, head, evicted, firstVisible, offset }).toEqual({
    sink: view.sink,
    window: view.window,
    capacity: view.capacity,
    pinBudget: view.pinBudget,
    nextPos: view.nextPos,
    head: view.head,
    evicted: view.evicted,
    firstVisible: view.firstVisible,
    offset: view.offset,
  });
  const owners = view.owners!;
  const slots = view.slots.map((s) => ({
    slot: s.slot,
    pos: mirror.pos[s.slot],
    ropePos: mirror.ropePos[s.slot],
    tokenId: mirror.tokenId[s.slot],
    text: mirror.texts[s.slot],
    visible: mirror.visible(s.slot),
    message: mirror.owner[s.slot] >= 0 ? mirror.ownerIds[mirror.owner[s.slot]] : null,
    char: mirror.owner[s.slot] >= 0 ? mirror.ownerChar[s.slot] : -1,
  }));
  expect(slots).toEqual(
    view.slots.map((s) => ({
      slot: s.slot,
      pos: s.pos,
      ropePos: s.ropePos,
      tokenId: s.tokenId,
      text: view.texts[s.slot],
      visible: s.visible,
      message: owners.message[s.slot] >= 0 ? owners.ids![owners.message[s.slot]] : null,
      char: owners.message[s.slot] >= 0 ? owners.char[s.slot] : -1,
    })),
  );
  const pinned = Object.fromEntries(owners.ids!.flatMap((id, k) => (owners.pinnedChars[k] > 0 ? [[id, owners.pinnedChars[k]]] : [])));
  expect(mirror.pinnedChars).toEqual(pinned);
  expect(mirror.unfed).toEqual(owners.ids!.filter((_, k) => !owners.located[k]));
  return view;
}

function opsSince(from: number): string[] {
  return ops.slice(from).map((e) => e.op.kind);
}

/** A turn on `question` checked against the mirror, then its reply regenerated: the ops of the regenerate. */
async function turnAndRegenerate(messages: ChatMessage[], question: string, settings: CacheSettings, seed: number, maxTokens: number): Promise<string[]> {
  messages.push({ role: 'user', content: question });
  await reply(messages, settings, seed, maxTokens);
  await expectMirrored(messages);
  // Regenerate: the prompt without the last reply, then a new reply.
  messages.pop();
  const from = ops.length;
  await reply(messages, settings, seed + 1, maxTokens);
  await expectMirrored(messages);
  return opsSince(from);
}

describe('cache view protocol', () => {
  it('keeps a mirror equal to the engine’s cache through replies, rewinds, a rebuild, a reset and a restore', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'The assistant tells stories.' },
      { role: 'user', content: 'Tell me a story about a dog.' },
    ];
    let from = ops.length;
    await reply(messages, cache, 4, 40);
    expect(opsSince(from)[0]).toBe('start');
    expect(opsSince(from)).toContain('messages');
    let view = await expectMirrored(messages);
    expect(view.nextPos).toBeGreaterThan(36);
    // The reply's tokens name the reply.
    expect(mirror.ownerIds).toContain('m2');

    // A regenerate within the undo journal rewinds the reply exactly.
    const regenerated = await turnAndRegenerate(messages, 'What happened next?', cache, 5, 30);
    expect(regenerated).toContain('rewind');
    expect(regenerated).not.toContain('reset');
    // A quiet turn on another stream (the local server's) sends no op: the mirror keeps showing the chat's
    // stream, and the rewind below still names its tokens by the chat's labels.
    from = ops.length;
    const quiet = { kind: 'chat' as const, messages: [{ role: 'user' as const, content: 'A script asks.' }] };
    await host.request('generate', { stream: 'api-1', prompt: quiet, options: { sampling: { ...DEFAULT_SAMPLING, seed: 9 }, maxTokens: 8 }, cache, quiet: true });
    expect(opsSince(from)).toEqual([]);
    expect(await host.request('cacheView', { stream: 'api-1' })).toBeNull();
    // The host's own `rewind` verb reports its cut too.
    from = ops.length;
    await host.request('rewind', { stream: HOST_STREAM, tokens: mirror.nextPos - 3 });
    expect(opsSince(from)).toEqual(['rewind']);
    await expectMirrored(messages);

    // New settings: a rebuild feeds the sinks and the last W tokens into a new stream of the new geometry.
    const small: CacheSettings = { sink: 4, window: 24, positions: 'cache', journalTokens: 4, pinBudget: 12 };
    from = ops.length;
    const rebuilt = await host.request('rebuild', { stream: HOST_STREAM, prompt: { kind: 'chat', messages }, cache: small, view: labelled(messages) });
    expect(rebuilt.window).toBe(24);
    expect(rebuilt.reprocessedTokens).toBe(28);
    expect(opsSince(from)[0]).toBe('start');
    view = await expectMirrored(messages);
    // Nothing pinned: no pin slots, whatever the budget.
    expect(view.capacity).toBe(28);
    expect(view.pinBudget).toBe(12);
    expect(view.evicted).toBeGreaterThan(0);

    // Pinning the start of the first question (evicted by now: fed again) sends the pin slots.
    from = ops.length;
    const pinned = await host.request('pin', { stream: HOST_STREAM, messages, index: 1, chars: { start: 0, end: 8 } });
    expect(pinned.reprocessedTokens).toBe(pinned.end - pinned.start);
    expect(opsSince(from)).toEqual(['pins']);
    view = await expectMirrored(messages);
    expect(view.pins).toEqual([{ start: pinned.start, end: pinned.end }]);
    expect(mirror.pins).toEqual(view.pins);
    expect(view.capacity).toBe(28 + pinned.end - pinned.start);
    expect(view.slots.filter((s) => s.kind === 'pin' && s.visible).length).toBe(pinned.end - pinned.start);

    // On the rebuilt stream, a regenerate past its 4-token journal resets the cache and feeds it again;
    // the pin stays and is sent again after the reset.
    const again = await turnAndRegenerate(messages, 'And then?', small, 7, 20);
    expect(again).toContain('reset');
    expect(again[again.indexOf('reset') + 1]).toBe('pins');
    expect(mirror.pinFill()).toBe(pinned.end - pinned.start);

    // A snapshot, another conversation (a reset names its stream), and the snapshot restored.
    const file = path.join(tmp, 'c1.kv');
    await host.request('snapshot', { stream: HOST_STREAM, path: file });
    from = ops.length;
    await host.request('reset', { stream: HOST_STREAM, view: 'c2' });
    expect(opsSince(from)).toEqual(['start']);
    expect(mirror.stream).toBe('c2');
    expect(mirror.nextPos).toBe(0);
    await host.request('restore', { stream: HOST_STREAM, path: file, messages, view: labelled(messages) });
    expect(ops.at(-1)!.op.kind).toBe('restore');
    await expectMirrored(messages);
    expect(mirror.pinFill()).toBe(pinned.end - pinned.start);
    // Unpinning empties the pin slots.
    from = ops.length;
    expect(await host.request('unpin', { stream: HOST_STREAM, messages, index: 1 })).toEqual({ unpinned: 1 });
    expect(opsSince(from)).toEqual(['pins']);
    view = await expectMirrored(messages);
    expect(mirror.pinFill()).toBe(0);
    expect(view.capacity).toBe(28);

    // Every op was numbered one after the other.
    expect(ops.map((e) => e.viewSeq)).toEqual(ops.map((_, i) => i + 1));
  });
});
