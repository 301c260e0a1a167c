// Crash recovery of conversation files: a torn last record at every byte offset, and damage before the last line.
// Runs under Vitest (Node) in temp folders.

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BodyRecordSchema, HeaderRecordSchema } from '../../common/conversationSchema';
import { ConversationStore } from '../../main/storage/conversationStore';
import { ConversationStoreError } from '../../main/storage/conversationStoreError';
import type { StorageWarning } from '../../main/storage/storageWarning';
import { steppingClock, useTempDirs } from './tempDir';

const tempDir = useTempDirs();

/** Every line of the file is a complete, schema-valid record, header first. */
function expectValidFile(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  const [header, ...body] = text.slice(0, -1).split('\n');
  expect(HeaderRecordSchema.safeParse(JSON.parse(header)).success).toBe(true);
  for (const line of body) expect(BodyRecordSchema.safeParse(JSON.parse(line)).success).toBe(true);
}

/** Writes `bytes` as conversation `id` under a fresh root and returns a store on it. */
async function storeWithFile(id: string, bytes: Uint8Array, warnings?: StorageWarning[]): Promise<ConversationStore> {
  const root = await tempDir();
  await mkdir(join(root, 'conversations'));
  await writeFile(join(root, 'conversations', `${id}.jsonl`), bytes);
  return new ConversationStore(root, { now: steppingClock(1_800_000_000_000), onWarning: (w) => warnings?.push(w) });
}

describe('torn last record', () => {
  it('at every byte offset: loads the complete messages, drops the torn one, and the next append repairs the file', async () => {
    const source = new ConversationStore(await tempDir(), { now: steppingClock() });
    const { id } = await source.create({ title: 'Crash test' });
    await source.appendMessage(id, { role: 'user', content: 'héllo wörld 🌍' });
    const writer = await source.beginStreaming(id, 'streamed');
    writer.append('partial ');
    await writer.flush();
    writer.append('reply');
    await writer.end({ status: 'complete', stats: { tokens: 2, tokPerSec: 10, ttftMs: 5, reprocessedTokens: 0 } });
    await source.appendMessage(id, { id: 'last', role: 'assistant', content: '日本語 ✓ and `code` with "quotes"\n```\nx\n```' });
    const full = await readFile(join(source.dir, `${id}.jsonl`));
    const complete = (await source.load(id)).messages;
    expect(complete.map((m) => m.id).at(-1)).toBe('last');
    const lineStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
    expect(full.length - lineStart).toBeGreaterThan(100);

    for (let cut = lineStart; cut < full.length; cut++) {
      const warnings: StorageWarning[] = [];
      const store = await storeWithFile(id, full.subarray(0, cut), warnings);
      const loaded = await store.load(id);
      const lastComplete = cut === full.length - 1; // only the newline is missing
      expect(loaded.messages).toEqual(lastComplete ? complete : complete.slice(0, -1));
      if (cut === lineStart || lastComplete) expect(loaded.recovered).toBeUndefined();
      else expect(loaded.recovered).toMatchObject({ droppedBytes: cut - lineStart, line: 6 });

      const added = await store.appendMessage(id, { role: 'user', content: 'after the crash' });
      const text = await readFile(join(store.dir, `${id}.jsonl`), 'utf8');
      expectValidFile(text);
      const reloaded = await new ConversationStore(join(store.dir, '..')).load(id);
      expect(reloaded.recovered).toBeUndefined();
      expect(reloaded.messages).toEqual([...loaded.messages, added]);
      const dropped = lastComplete || cut === lineStart ? [] : [{ kind: 'conversation-tail-dropped', droppedBytes: cut - lineStart }];
      expect(warnings).toMatchObject(dropped);
    }
  });

  it('inside a streaming chunk: the reply loads as streaming with the text of the complete chunks', async () => {
    const source = new ConversationStore(await tempDir());
    const { id } = await source.create();
    await source.appendMessage(id, { role: 'user', content: 'q' });
    const writer = await source.beginStreaming(id, 'r');
    writer.append('first batch, ');
    await writer.flush();
    writer.append('second batch ✨');
    await writer.flush();
    const full = await readFile(join(source.dir, `${id}.jsonl`));
    const lineStart = full.lastIndexOf(0x0a, full.length - 2) + 1;

    for (let cut = lineStart; cut <= full.length; cut++) {
      const loaded = await (await storeWithFile(id, full.subarray(0, cut))).load(id);
      const reply = loaded.messages[1];
      expect(reply.status).toBe('streaming');
      expect(reply.content).toBe(cut >= full.length - 1 ? 'first batch, second batch ✨' : 'first batch, ');
    }
    await writer.end({ status: 'stopped' });
  });
});

describe('damage before the last line', () => {
  it('refuses to load or write, names the file and line, and hands over what precedes it', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root);
    const { id } = await store.create({ title: 'Damaged' });
    for (const content of ['one', 'two', 'three', 'four']) await store.appendMessage(id, { role: 'user', content });
    const path = join(root, 'conversations', `${id}.jsonl`);
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[3] = lines[3].replace('"content"', '"cont\u0000ent'); // line 4: message "three"
    const damaged = Buffer.from(lines.join('\n'));
    await writeFile(path, damaged);

    const fresh = new ConversationStore(root);
    const error = await fresh.load(id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConversationStoreError);
    const e = error as ConversationStoreError;
    expect(e.code).toBe('damaged');
    expect(e.message).toContain(path);
    expect(e.message).toContain('line 4');
    expect(e.details.partial?.messages.map((m) => m.content)).toEqual(['one', 'two']);

    const writeError = await fresh.appendMessage(id, { role: 'user', content: 'x' }).catch((err: unknown) => err);
    expect((writeError as ConversationStoreError).code).toBe('damaged');
    expect(Buffer.compare(await readFile(path), damaged)).toBe(0);

    const [summary] = await fresh.list();
    expect(summary).toMatchObject({ id, title: 'Damaged', messageCount: 2, problem: expect.stringContaining('line 4') });
  });

  it('treats a file without a valid header as damaged at line 1', async () => {
    const store = await storeWithFile('nohead', Buffer.from('{"type":"message"}\n'));
    const error = (await store.load('nohead').catch((e: unknown) => e)) as ConversationStoreError;
    expect(error.code).toBe('damaged');
    expect(error.message).toContain('line 1');
  });

  it('refuses a file written by a newer format version', async () => {
    const header = { type: 'header', version: 2, id: 'future', title: 't', createdAt: 1 };
    const store = await storeWithFile('future', Buffer.from(`${JSON.stringify(header)}\n`));
    const error = (await store.load('future').catch((e: unknown) => e)) as ConversationStoreError;
    expect(error.code).toBe('damaged');
    expect(error.message).toContain('newer Ouro');
  });
});
