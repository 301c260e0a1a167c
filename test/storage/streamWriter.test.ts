// Streaming replies: buffered text is written within 50 ms (what a killed app can lose), fsynced within
// a second more (what a power loss can lose), and survives a crash.
// Runs under Vitest (Node) with fake timers for the flush interval; file I/O is real, in temp folders.

import { open, readFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MockInstance } from 'vitest';
import { ConversationStore } from '../../main/storage/conversationStore';
import { useTempDirs } from './tempDir';

const tempDir = useTempDirs();

type SyncSpy = MockInstance<FileHandle['datasync']>;
let datasync: SyncSpy;
let sync: MockInstance<FileHandle['sync']>;

beforeEach(async () => {
  // FileHandle is not exported; spy on the prototype every handle shares.
  const probe = await open(import.meta.filename, 'r');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  datasync = vi.spyOn(proto, 'datasync');
  sync = vi.spyOn(proto, 'sync');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function records(path: string): Promise<{ type: string; text?: string; status?: string }[]> {
  return (await readFile(path, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string });
}

describe('StreamWriter', () => {
  it('writes buffered text as a chunk within 50 ms, fsyncs it within a second, and a crash leaves a streaming message with it', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root);
    const { id } = await store.create();
    await store.appendMessage(id, { role: 'user', content: 'tell me a story' });
    const path = join(store.dir, `${id}.jsonl`);
    const writer = await store.beginStreaming(id, 'reply');
    const chunks = async () => (await records(path)).filter((r) => r.type === 'chunk').map((r) => r.text);

    const syncsBefore = datasync.mock.calls.length;
    writer.append('Once upon');
    writer.append(' a time');
    await vi.advanceTimersByTimeAsync(49);
    await store.idle(id);
    expect(await chunks()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await store.idle(id);
    expect(await chunks()).toEqual(['Once upon a time']);
    expect(datasync.mock.calls.length).toBe(syncsBefore);

    // Every 50 ms of text is written; the first unsynced write is fsynced a second later, once.
    for (const word of [',', ' a', ' robot']) {
      writer.append(word);
      await vi.advanceTimersByTimeAsync(50);
    }
    await store.idle(id);
    expect(await chunks()).toEqual(['Once upon a time', ',', ' a', ' robot']);
    expect(datasync.mock.calls.length).toBe(syncsBefore);
    await vi.advanceTimersByTimeAsync(1000 - 3 * 50); // 1,050 ms: a second after the first write
    await store.idle(id);
    expect(datasync.mock.calls.length).toBe(syncsBefore + 1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(datasync.mock.calls.length).toBe(syncsBefore + 1);
    writer.append(' that never'); // still buffered when the "crash" happens

    // Crash: read the file as the next start would, without end().
    const afterCrash = await new ConversationStore(root).load(id);
    expect(afterCrash.recovered).toBeUndefined();
    expect(afterCrash.messages[1]).toMatchObject({ id: 'reply', role: 'assistant', status: 'streaming', content: 'Once upon a time, a robot' });

    const syncsBeforeEnd = datasync.mock.calls.length;
    const stats = { tokens: 9, tokPerSec: 20, ttftMs: 50, reprocessedTokens: 0 };
    const final = await writer.end({ status: 'complete', stats });
    expect(datasync.mock.calls.length).toBe(syncsBeforeEnd + 1);
    expect(final).toMatchObject({ status: 'complete', content: 'Once upon a time, a robot that never', stats });
    expect((await new ConversationStore(root).load(id)).messages[1]).toEqual(final);
    expect((await records(path)).at(-1)).toMatchObject({ type: 'message', status: 'complete' });
    expect(() => writer.append('late')).toThrow(/already ended/);
  });

  it('uses the final content when given (e.g. a stop string trimmed) and writes no chunk for text still buffered', async () => {
    const store = new ConversationStore(await tempDir());
    const { id } = await store.create();
    const writer = await store.beginStreaming(id, 'r');
    writer.append('Answer.</s>');
    const final = await writer.end({ status: 'complete', content: 'Answer.' });
    expect(final?.content).toBe('Answer.');
    expect((await records(join(store.dir, `${id}.jsonl`))).map((r) => r.type)).toEqual(['header', 'message', 'message']);
  });

  it('stops writing when the message is truncated away or the conversation deleted', async () => {
    const store = new ConversationStore(await tempDir());
    const { id } = await store.create();
    const user = await store.appendMessage(id, { role: 'user', content: 'q' });
    const writer = await store.beginStreaming(id, 'r');
    writer.append('old reply');
    await store.truncateAfter(id, user.id);
    await writer.flush();
    expect(writer.detached).toBe(true);
    expect(await writer.end({ status: 'stopped' })).toBeNull();
    expect((await store.load(id)).messages.map((m) => m.id)).toEqual([user.id]);

    const other = await store.beginStreaming(id, 'r2');
    await store.delete(id);
    other.append('into the void');
    expect(await other.end({ status: 'complete' })).toBeNull();
    expect((await store.list()).length).toBe(0);
  });

  it('atomic writes fsync the file (settings, snapshots, new conversations)', async () => {
    const store = new ConversationStore(await tempDir());
    const before = sync.mock.calls.length;
    const { id } = await store.create();
    await store.writeSnapshot(id, new Uint8Array(8), { modelId: 'm', tokenCount: 2 });
    // One fsync of each temp file, plus one of the folder after each rename where the OS allows it.
    expect(sync.mock.calls.length - before).toBe(process.platform === 'win32' ? 2 : 4);
  });
});
