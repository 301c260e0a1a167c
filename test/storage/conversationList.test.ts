// The conversation list's cost: each file's row is kept per version of the file, so listing never reads
// message contents again, and a row's preview reads only as far as it shows. Runs under Vitest (Node).

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConversationLog, messagePreview } from '../../main/storage/conversationLog';
import { CONVERSATION_FORMAT_VERSION } from '../../common/conversationSchema';
import { useTempDirs } from './tempDir';

const tempDir = useTempDirs();
const id = 'list-cost';

async function logWithMessage(content: string): Promise<ConversationLog> {
  const log = new ConversationLog(join(await tempDir()));
  await log.create({ type: 'header', version: CONVERSATION_FORMAT_VERSION, id, title: 'Long', createdAt: 1 });
  await log.append(id, [{ type: 'message', id: 'm1', role: 'user', content, createdAt: 2, status: 'complete' }], false);
  return log;
}

/** Makes every read of the messages' content throw, as a probe that listing does not touch it. */
function forbidContentReads(messages: readonly object[]): void {
  for (const message of messages) {
    Object.defineProperty(message, 'content', {
      get: () => {
        throw new Error('a list call read a message content');
      },
    });
  }
}

describe('conversation list rows', () => {
  it('are kept per file version: listing again reads no message content, a change makes a new row', async () => {
    const log = await logWithMessage(`${'word '.repeat(200_000)}end`);
    const first = await log.summary(id);
    expect(first).toMatchObject({ id, messageCount: 1, preview: `${'word '.repeat(23)}word…` });
    forbidContentReads((await log.read(id)).conversation.messages);
    expect(await log.summary(id)).toEqual(first);

    await log.append(id, [{ type: 'message', id: 'm2', role: 'assistant', content: '  short\n\nreply ', createdAt: 3, status: 'complete' }], false);
    expect(await log.summary(id)).toMatchObject({ messageCount: 2, preview: 'short reply', updatedAt: 3 });
  });

  it('preview: whitespace runs become one space, trimmed, cut at the limit with an ellipsis', () => {
    expect(messagePreview('  a\n\tb  c  ', 120)).toBe('a b c');
    expect(messagePreview(' \n ', 120)).toBe('');
    expect(messagePreview('abcdef', 6)).toBe('abcdef');
    expect(messagePreview('abc defg', 6)).toBe('abc d…');
    expect(messagePreview(`x${' '.repeat(1000)}y`, 6)).toBe('x y');
  });
});
