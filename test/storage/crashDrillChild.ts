// Child process of crashDrill.test.ts: chats into the real ConversationStore as fast as a quick model
// streams (a token every 2 ms), until the test kills it with SIGKILL. Before each step it writes a JSON
// line to stdout synchronously (a pipe write, done before the step starts), so the test knows exactly
// what was attempted when the kill landed. Runs under plain Node from an esbuild bundle of this file:
// `node crashDrillChild.mjs <data dir> <seed>`.
import { writeSync } from 'node:fs';
import { ConversationStore } from '../../main/storage/conversationStore';

/** What the child tells the test, one JSON object per line. */
export type DrillLine =
  | { readonly step: 'ready' }
  | { readonly step: 'create'; readonly conversation: string }
  | { readonly step: 'created'; readonly conversation: string }
  | { readonly step: 'user'; readonly conversation: string; readonly message: string; readonly text: string }
  | { readonly step: 'stored'; readonly message: string }
  | { readonly step: 'reply'; readonly conversation: string; readonly message: string }
  | { readonly step: 'token'; readonly message: string; readonly text: string }
  | { readonly step: 'ended'; readonly message: string };

const TOKEN_MS = 2;
const WORDS = ['the', ' ring', ' buffer', ' keeps', ' sinks', ',', ' and', ' é', ' 🦀', '\n', ' window', '.'];

const [dataDir, seedArg] = process.argv.slice(2);
let state = Number(seedArg) >>> 0 || 1;
/** xorshift32: a repeatable run per seed. */
const random = (): number => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};
const say = (line: DrillLine): void => void writeSync(1, `${JSON.stringify(line)}\n`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const store = new ConversationStore(dataDir);
say({ step: 'ready' });
for (let turn = 0; ; turn++) {
  const existing = (await store.list()).filter((c) => !c.problem);
  let id: string;
  if (existing.length === 0 || random() < 0.3) {
    id = `c${seedArg}-${turn}`;
    say({ step: 'create', conversation: id });
    await store.create({ id, title: `Drill ${id}` });
    say({ step: 'created', conversation: id });
  } else {
    id = existing[Math.floor(random() * existing.length)].id;
  }
  const userId = `u${seedArg}-${turn}`;
  const text = `Question ${turn}: ${'why '.repeat(1 + Math.floor(random() * 20))}?`;
  say({ step: 'user', conversation: id, message: userId, text });
  await store.appendMessage(id, { id: userId, role: 'user', content: text });
  say({ step: 'stored', message: userId });

  const replyId = `a${seedArg}-${turn}`;
  say({ step: 'reply', conversation: id, message: replyId });
  const writer = await store.beginStreaming(id, replyId);
  const tokens = 5 + Math.floor(random() * 400);
  for (let i = 0; i < tokens; i++) {
    await pause(TOKEN_MS);
    const token = WORDS[Math.floor(random() * WORDS.length)];
    say({ step: 'token', message: replyId, text: token });
    writer.append(token);
  }
  await writer.end({ status: 'complete' });
  say({ step: 'ended', message: replyId });
}
