// What the user is told when storage could not read a file, through the real services: a corrupt
// settings.json and models.json are kept as repairs until dismissed, across restarts (they happen
// before any client listens), naming what was lost and where the damaged file went; a damaged
// conversation opens read-only with its readable messages and exports them. Runs under Vitest (Node)
// with a worker-thread host.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Repair } from '../../common/contract';
import { startServices, type ServicesHarness } from './servicesKit';

let dataDir: string;
let h: ServicesHarness;
const conversationId = 'damaged-1';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ouro-repairs-'));
  // Cut off mid-write: valid JSON up to a point, then nothing.
  await writeFile(join(dataDir, 'settings.json'), '{\n  "systemPrompt": "Answer in French.",\n  "hfToken": "hf_abc",\n  "sampling": { "tempera');
  await writeFile(
    join(dataDir, 'models.json'),
    '{"version":1,"models":[{"id":"a","name":"alpha","dir":"/models/alpha","addedAt":1},{"id":"b","name":"beta","dir":"/models/b\\"eta","addedAt":2},{"id":"c","na',
  );
  await mkdir(join(dataDir, 'conversations'));
  const records = [
    { type: 'header', version: 1, id: conversationId, title: 'Half a chat', createdAt: 1 },
    { type: 'message', id: 'u1', role: 'user', content: 'What is a ring buffer?', createdAt: 2, status: 'complete' },
    { type: 'message', id: 'a1', role: 'assistant', content: 'A fixed-size queue that wraps around.', createdAt: 3, status: 'complete', parentId: 'u1' },
  ];
  const lines = records.map((r) => JSON.stringify(r));
  lines.push('{"type":"message","id":"u2",#garbage', JSON.stringify({ type: 'message', id: 'u3', role: 'user', content: 'lost', createdAt: 5, status: 'complete' }));
  await writeFile(join(dataDir, 'conversations', `${conversationId}.jsonl`), `${lines.join('\n')}\n`);
  h = await startServices({ dataDir });
});

afterAll(async () => {
  await h?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('repairs of unreadable files', () => {
  it('are kept until dismissed, with what was lost and where the damaged file was kept', async () => {
    expect(await h.call('models.list', {})).toEqual([]); // reads (and repairs) models.json
    const repairs = await h.call('repairs.list', {});
    expect(repairs).toHaveLength(2);
    const [settings, models] = repairs;
    const kept = (await readdir(dataDir)).filter((name) => name.includes('.corrupt-')).sort();
    expect(kept).toHaveLength(2);

    expect(settings.file).toBe(join(dataDir, 'settings.json'));
    expect(settings.keptAs).toBe(join(dataDir, kept.find((k) => k.startsWith('settings.json'))!));
    expect(await readFile(settings.keptAs!, 'utf8')).toContain('Answer in French.');
    expect(settings.lost).toEqual([
      'the system prompt',
      'the sampling settings (temperature, top-k, top-p, min-p, repetition penalty, max tokens, seed)',
      'the Hugging Face token',
    ]);
    expect(settings.message).toContain(settings.keptAs);

    expect(models.file).toBe(join(dataDir, 'models.json'));
    expect(models.keptAs).toBe(join(dataDir, kept.find((k) => k.startsWith('models.json'))!));
    expect(models.lost).toEqual(['the imported model folder /models/alpha', 'the imported model folder /models/b"eta']);

    // Listing does not consume them: a window that opens later (or reloads) still sees them.
    expect(await h.call('repairs.list', {})).toEqual(repairs);
    const from = h.log.events.length;
    await h.call('repairs.dismiss', { id: settings.id });
    const event = await h.log.next('repairs', () => true, from);
    expect(event.repairs.map((r: Repair) => r.id)).toEqual([models.id]);
    expect(await h.call('repairs.list', {})).toEqual([models]);
    await h.call('repairs.dismiss', { id: 'no-such-repair' });
    expect(await h.call('repairs.list', {})).toEqual([models]);

    // Kept across a restart until dismissed: a run that quits before any window opens loses nothing.
    await h.close();
    h = await startServices({ dataDir });
    expect(await h.call('repairs.list', {})).toEqual([models]);
  });
});

describe('a conversation damaged before its last line', () => {
  it('opens read-only with the messages before the damage, exports them, and takes no new message', async () => {
    const { conversation, readOnly } = await h.call('conversations.open', { conversationId });
    expect(conversation.messages.map((m) => m.content)).toEqual(['What is a ring buffer?', 'A fixed-size queue that wraps around.']);
    expect(readOnly).toContain('damaged at line 4');

    const markdown = await h.call('conversations.export', { conversationId, format: 'markdown' });
    expect(markdown.fileName).toBe('Half a chat.md');
    expect(markdown.content).toContain('A fixed-size queue that wraps around.');
    expect(markdown.content).toContain('damaged at line 4');
    expect(markdown.content).not.toContain('lost');
    const json = JSON.parse((await h.call('conversations.export', { conversationId, format: 'json' })).content) as { messages: unknown[] };
    expect(json.messages).toHaveLength(2);

    const error = await h.error('chat.send', { conversationId, content: 'more?' });
    expect(error.message).toContain('damaged at line 4');
  });
});
