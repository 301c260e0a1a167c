// The interactive chat loop on a terminal-mode readline (keys arrive raw, as in a real terminal) and the
// real engine host with the tiny fixture: Ctrl-C stops the reply and the chat goes on; Ctrl-C with no
// reply running, or Ctrl-D, quits. Runs under Vitest (Node).
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatLoop, USER_PROMPT, type RunningReply } from '../../main/cli/chatLoop';
import { DEFAULT_SAMPLING } from '../../main/engine/sampling/samplingParams';
import type { EngineHostClient } from '../../main/host/engineHostClient';
import { startWorkerHost } from '../../main/host/workerTransport';
import { ensureFixture } from '../fixtures/llamaFixture';

let host: EngineHostClient;
beforeAll(async () => {
  host = startWorkerHost();
  await host.request('load', { dir: (await ensureFixture('tiny')).dir, provider: 'cpu' });
});
afterAll(async () => {
  await host?.close();
});

const CTRL_C = '\x03';
const CTRL_D = '\x04';

/** A terminal on streams, a loop over the engine host, and what each reply did. */
function terminalChat() {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk: Buffer) => (shown += chunk.toString('utf8')));
  const replies: { reason: string; tokens: number }[] = [];
  let onToken: (() => void) | null = null;
  const reply = (line: string): RunningReply => {
    // Seeded, so the long reply is the same every run (no end token for thousands of tokens).
    const { seq, result } = host.start('generate', {
      stream: 'cli',
      prompt: { kind: 'raw', text: line },
      options: { sampling: { ...DEFAULT_SAMPLING, seed: 21, topK: 10 }, maxTokens: 5000 },
      cache: { sink: 4, window: 64, positions: 'cache' },
    });
    const stop = host.onEvent((e) => e.type === 'token' && e.seq === seq && onToken?.());
    return { cancel: () => void host.cancel(seq), done: result.then((r) => (stop(), replies.push({ reason: r.reason, tokens: r.stats.decodeTokens }))) };
  };
  let quit = false;
  const loop = chatLoop({ input, output, terminal: true }, reply).then(() => (quit = true));
  const firstToken = () => new Promise<void>((resolve) => (onToken = () => ((onToken = null), resolve())));
  return { input, replies, loop, firstToken, shown: () => shown, quit: () => quit };
}

describe('npm run chat, interactive', () => {
  it('Ctrl-C stops the reply and the chat goes on; Ctrl-C at the prompt quits', async () => {
    const chat = terminalChat();
    const streaming = chat.firstToken();
    chat.input.write('Tell me a long story.\r');
    await streaming;
    chat.input.write(CTRL_C);
    await expect.poll(() => chat.replies.length).toBe(1);
    expect(chat.replies[0].reason).toBe('cancelled');
    expect(chat.replies[0].tokens).toBeLessThan(5000);
    // Still chatting: the marker is shown again and a second message gets its own reply.
    await expect.poll(() => chat.shown().split(USER_PROMPT).length - 1).toBe(2);
    expect(chat.quit()).toBe(false);
    const again = chat.firstToken();
    chat.input.write('And then?\r');
    await again;
    chat.input.write(CTRL_C);
    await expect.poll(() => chat.replies.length).toBe(2);
    expect(chat.quit()).toBe(false);

    chat.input.write(CTRL_C);
    await chat.loop;
    expect(chat.replies.map((r) => r.reason)).toEqual(['cancelled', 'cancelled']);
  });

  it('Ctrl-D on an empty line quits', async () => {
    const chat = terminalChat();
    chat.input.write(CTRL_D);
    await chat.loop;
    expect(chat.replies).toEqual([]);
    expect(chat.shown()).toContain(USER_PROMPT);
  });
});
