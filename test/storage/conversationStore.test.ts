// Round trips through ConversationStore: create, append, stream, rename, truncate, delete, list, search, export, snapshot.
// Runs under Vitest (Node) in temp folders.

import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationSchema } from '../../common/conversationSchema';
import { ConversationStore } from '../../main/storage/conversationStore';
import { ConversationStoreError } from '../../main/storage/conversationStoreError';
import type { StorageWarning } from '../../main/storage/storageWarning';
import { steppingClock, useTempDirs } from './tempDir';

const tempDir = useTempDirs();
const stats = { tokens: 12, tokPerSec: 31.5, ttftMs: 84, reprocessedTokens: 0 };

async function codeError(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConversationStoreError);
  return (error as ConversationStoreError).code;
}

describe('ConversationStore round trip', () => {
  it('stores messages, a streamed reply and a rename, and a fresh store reads the same conversation', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root, { now: steppingClock() });
    const created = await store.create({ title: 'Rust help', modelId: 'smollm2-135m', settings: { sampling: { temperature: 0.2 } } });
    const user = await store.appendMessage(created.id, { role: 'user', content: 'How do I print in Rust? 🦀' });
    const writer = await store.beginStreaming(created.id, 'reply-1');
    writer.append('Use `println!`:\n\n');
    writer.append('```rust\nfn main() {\n    println!("hi");\n}\n```\n');
    const reply = await writer.end({ status: 'complete', stats });
    await store.rename(created.id, 'Printing in Rust');

    expect(reply).toMatchObject({ id: 'reply-1', role: 'assistant', status: 'complete', stats, parentId: user.id });
    const expected = {
      id: created.id,
      title: 'Printing in Rust',
      createdAt: created.createdAt,
      modelId: 'smollm2-135m',
      settings: { sampling: { temperature: 0.2 } },
      messages: [user, reply],
    };
    const loaded = await store.load(created.id);
    expect(loaded).toMatchObject(expected);
    expect(loaded.messages[1].content).toBe('Use `println!`:\n\n```rust\nfn main() {\n    println!("hi");\n}\n```\n');
    expect(loaded.updatedAt).toBeGreaterThan(reply?.createdAt ?? Infinity);
    expect(loaded.recovered).toBeUndefined();

    const fresh = await new ConversationStore(root).load(created.id);
    expect(fresh).toEqual(loaded);
  });

  it('truncates for regenerate and edit-and-resend, keeping the file append-only', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root, { now: steppingClock() });
    const { id } = await store.create({ title: 'T' });
    const u1 = await store.appendMessage(id, { role: 'user', content: 'first question' });
    await store.appendMessage(id, { role: 'assistant', content: 'first answer' });
    const u2 = await store.appendMessage(id, { role: 'user', content: 'second question' });
    await store.appendMessage(id, { role: 'assistant', content: 'second answer' });
    const before = await readFile(join(root, 'conversations', `${id}.jsonl`), 'utf8');

    // Regenerate the last answer.
    await store.truncateAfter(id, u2.id);
    const again = await store.beginStreaming(id, 'regen');
    again.append('better second answer');
    await again.end({ status: 'complete' });
    expect((await store.load(id)).messages.map((m) => m.content)).toEqual([
      'first question',
      'first answer',
      'second question',
      'better second answer',
    ]);

    // Edit the first question and resend: everything from it on is replaced.
    await store.truncateAfter(id, null);
    const edited = await store.appendMessage(id, { role: 'user', content: 'edited first question' });
    expect(edited.parentId).toBeUndefined();
    expect((await store.load(id)).messages.map((m) => m.content)).toEqual(['edited first question']);

    const after = await readFile(join(root, 'conversations', `${id}.jsonl`), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after).toContain('"afterMessageId":null');
    expect(await codeError(store.truncateAfter(id, u1.id))).toBe('unknown_message');
  });

  it('keeps regenerated replies as versions of their message, shows another one, and a fresh store folds the same', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root, { now: steppingClock() });
    const { id } = await store.create({ title: 'T' });
    const u1 = await store.appendMessage(id, { role: 'user', content: 'a question' });
    const r1 = await store.appendMessage(id, { role: 'assistant', content: 'first answer' });
    // Before any regenerate there are no versions (files written before versions fold as they did).
    expect((await store.load(id)).replyVersions).toBeUndefined();
    await store.truncateAfter(id, u1.id);
    const writer = await store.beginStreaming(id, 'r2');
    writer.append('second answer');
    const r2 = (await writer.end({ status: 'complete', stats }))!;
    const loaded = await store.load(id);
    expect(loaded.messages.map((m) => m.id)).toEqual([u1.id, 'r2']);
    expect(loaded.replyVersions).toEqual({ [u1.id]: [r1, r2] });
    expect(ConversationSchema.parse(loaded)).toMatchObject({ replyVersions: { [u1.id]: [r1, r2] } });

    const shown = await store.showVersion(id, u1.id, r1.id);
    expect(shown.messages).toEqual([u1, r1]);
    expect(shown.replyVersions).toEqual({ [u1.id]: [r1, r2] });
    const fresh = await new ConversationStore(root).load(id);
    expect(fresh.messages).toEqual([u1, r1]);
    expect(fresh.replyVersions).toEqual({ [u1.id]: [r1, r2] });
    expect(await codeError(store.showVersion(id, u1.id, 'nope'))).toBe('unknown_message');

    // An edit replaces the message: its replies' versions go with it.
    await store.truncateAfter(id, null);
    await store.appendMessage(id, { role: 'user', content: 'another question' });
    expect((await store.load(id)).replyVersions).toBeUndefined();
  });

  it('lists newest first with counts and previews, and deletes a conversation with its snapshot', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root, { now: steppingClock() });
    const a = await store.create({ title: 'A' });
    const b = await store.create({ title: 'B' });
    const c = await store.create({ title: 'C' });
    await store.appendMessage(a.id, { role: 'user', content: 'hello\n\n  there' });
    expect((await store.list()).map((s) => s.title)).toEqual(['A', 'C', 'B']);
    const summaryA = (await store.list())[0];
    expect(summaryA).toMatchObject({ id: a.id, messageCount: 1, preview: 'hello there' });

    await store.writeSnapshot(b.id, new Uint8Array([1, 2, 3]), { modelId: 'm', tokenCount: 3 });
    await store.delete(b.id);
    expect((await store.list()).map((s) => s.title)).toEqual(['A', 'C']);
    expect(await readdir(store.dir)).toEqual([`${a.id}.jsonl`, `${c.id}.jsonl`].sort());
    expect(await codeError(store.load(b.id))).toBe('not_found');
    expect(await codeError(store.delete(b.id))).toBe('not_found');
  });

  it('lists nothing before the folder exists and rejects unsafe ids', async () => {
    const store = new ConversationStore(await tempDir());
    expect(await store.list()).toEqual([]);
    expect(await codeError(store.load('../settings'))).toBe('invalid_input');
    expect(await codeError(store.create({ id: 'a/b' }))).toBe('invalid_input');
  });

  it('refuses duplicate message ids and duplicate conversation ids', async () => {
    const store = new ConversationStore(await tempDir());
    const { id } = await store.create({ id: 'fixed-id' });
    await store.appendMessage(id, { id: 'm1', role: 'user', content: 'x' });
    expect(await codeError(store.appendMessage(id, { id: 'm1', role: 'user', content: 'y' }))).toBe('duplicate_message');
    expect(await codeError(store.beginStreaming(id, 'm1'))).toBe('duplicate_message');
    expect(await codeError(store.create({ id: 'fixed-id' }))).toBe('exists');
  });

  it('notices a file changed by another store and appends after its records', async () => {
    const root = await tempDir();
    const first = new ConversationStore(root);
    const second = new ConversationStore(root);
    const { id } = await first.create();
    await first.appendMessage(id, { id: 'm1', role: 'user', content: 'from the first store' });
    await second.appendMessage(id, { id: 'm2', role: 'assistant', content: 'from the second store, longer text' });
    await first.appendMessage(id, { id: 'm3', role: 'user', content: 'first again' });
    const loaded = await new ConversationStore(root).load(id);
    expect(loaded.messages.map((m) => [m.id, m.parentId])).toEqual([
      ['m1', undefined],
      ['m2', 'm1'],
      ['m3', 'm2'],
    ]);
  });

  it('serialises concurrent writes so records never interleave', async () => {
    const root = await tempDir();
    const store = new ConversationStore(root);
    const { id } = await store.create();
    const writer = await store.beginStreaming(id, 'stream');
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      writes.push(store.appendMessage(id, { id: `m${i}`, role: 'user', content: `message ${i} ${'x'.repeat(i * 50)}` }));
      writer.append(`part ${i};`);
      writes.push(writer.flush());
    }
    writes.push(store.rename(id, 'renamed'));
    await Promise.all(writes);
    await writer.end({ status: 'complete' });
    const loaded = await store.load(id);
    expect(loaded.messages.map((m) => m.id)).toEqual(['stream', ...Array.from({ length: 40 }, (_, i) => `m${i}`)]);
    expect(loaded.messages[0].content).toBe(Array.from({ length: 40 }, (_, i) => `part ${i};`).join(''));
    const lines = (await readFile(join(root, 'conversations', `${id}.jsonl`), 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 1 + 40 + 40 + 1 + 1);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe('ConversationStore search', () => {
  it('finds titles and message text case-insensitively, with a snippet around the match', async () => {
    const store = new ConversationStore(await tempDir(), { now: steppingClock() });
    const old = await store.create({ title: 'Gardening' });
    await store.appendMessage(old.id, { role: 'user', content: 'When should I plant TOMATOES in a cold climate?' });
    const recent = await store.create({ title: 'Tomato soup recipe' });
    const long = `${'lorem ipsum '.repeat(20)}the tomato\nis ripe ${'dolor sit '.repeat(20)}`;
    const reply = await store.appendMessage(recent.id, { role: 'assistant', content: long });

    const hits = await store.search('tOmAtO');
    expect(hits.map((h) => [h.conversationId, h.kind])).toEqual([
      [recent.id, 'title'],
      [recent.id, 'message'],
      [old.id, 'message'],
    ]);
    for (const hit of hits) {
      expect(hit.snippet.slice(hit.match.start, hit.match.start + hit.match.length).toLowerCase()).toBe('tomato');
    }
    const inLong = hits[1];
    expect(inLong).toMatchObject({ kind: 'message', messageId: reply.id, role: 'assistant' });
    expect(inLong.snippet.startsWith('…')).toBe(true);
    expect(inLong.snippet.endsWith('…')).toBe(true);
    expect(inLong.snippet).toContain('the tomato is ripe');
    expect(inLong.snippet.length).toBeLessThan(140);
  });

  it('treats the query literally and ignores blank queries', async () => {
    const store = new ConversationStore(await tempDir());
    const { id } = await store.create({ title: 'x' });
    await store.appendMessage(id, { role: 'user', content: 'axb and (a+b)' });
    expect(await store.search('a.b')).toEqual([]);
    expect((await store.search('(A+B)')).map((h) => h.kind)).toEqual(['message']);
    expect(await store.search('   ')).toEqual([]);
  });
});

describe('ConversationStore export', () => {
  it('exports Markdown with role headings and fenced code kept, and closes a fence an interrupted reply left open', async () => {
    const store = new ConversationStore(await tempDir(), { now: steppingClock() });
    const { id } = await store.create({ title: 'Code', modelId: 'qwen' });
    await store.appendMessage(id, { role: 'system', content: 'Be brief.' });
    await store.appendMessage(id, { role: 'user', content: 'Show me a loop' });
    await store.appendMessage(id, { role: 'assistant', content: 'Here:\n\n```python\nfor i in range(3):\n    print(i)\n```' });
    const writer = await store.beginStreaming(id, 'cut');
    writer.append('And in JS:\n\n```js\nfor (;;) {');
    await writer.end({ status: 'stopped' });

    const md = await store.exportMarkdown(id);
    expect(md.startsWith('# Code\n')).toBe(true);
    expect(md).toContain('model qwen');
    expect(md.match(/^## (System|User|Assistant)$/gm)).toEqual(['## System', '## User', '## Assistant', '## Assistant']);
    expect(md).toContain('## Assistant\n\nHere:\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n## Assistant');
    expect(md).toContain('```js\nfor (;;) {\n```\n\n_(stopped)_\n');
  });

  it('exports JSON that is the schema-valid conversation', async () => {
    const store = new ConversationStore(await tempDir());
    const { id } = await store.create({ title: 'J' });
    await store.appendMessage(id, { role: 'user', content: 'q' });
    await store.appendMessage(id, { role: 'assistant', content: 'a', stats, status: 'error', error: 'engine crashed' });
    const parsed = ConversationSchema.parse(JSON.parse(await store.exportJson(id)));
    expect(parsed).toEqual(await store.load(id));
  });
});

describe('ConversationStore snapshots', () => {
  it('writes atomically and reads back bytes and metadata exactly', async () => {
    const store = new ConversationStore(await tempDir());
    const { id } = await store.create();
    const bytes = new Uint8Array(100_003).map((_, i) => (i * 7919) & 0xff);
    await store.writeSnapshot(id, bytes, { modelId: 'smollm2', tokenCount: 4321, sink: 4, window: 60 });
    await store.writeSnapshot(id, bytes, { modelId: 'smollm2', tokenCount: 4321, sink: 4, window: 60 });
    expect(store.snapshotPath(id)).toBe(join(store.dir, `${id}.kv`));
    expect((await readdir(store.dir)).sort()).toEqual([`${id}.jsonl`, `${id}.kv`].sort());
    const snapshot = await store.readSnapshot(id);
    expect(snapshot?.meta).toEqual({ modelId: 'smollm2', tokenCount: 4321, sink: 4, window: 60 });
    expect(Buffer.from(snapshot?.bytes ?? []).equals(Buffer.from(bytes))).toBe(true);
  });

  it('answers null for a missing snapshot and null plus a warning for a truncated one', async () => {
    const warnings: StorageWarning[] = [];
    const store = new ConversationStore(await tempDir(), { onWarning: (w) => warnings.push(w) });
    const { id } = await store.create();
    expect(await store.readSnapshot(id)).toBeNull();
    await store.writeSnapshot(id, new Uint8Array(64), { modelId: 'm', tokenCount: 1 });
    const full = await readFile(store.snapshotPath(id));
    await writeFile(store.snapshotPath(id), full.subarray(0, full.length - 1));
    expect(await store.readSnapshot(id)).toBeNull();
    expect(warnings).toMatchObject([{ kind: 'snapshot-invalid', message: expect.stringContaining('wrong length') }]);
    expect(await codeError(store.writeSnapshot('no-such-conversation', new Uint8Array(1), { modelId: 'm', tokenCount: 0 }))).toBe(
      'not_found',
    );
  });
});
