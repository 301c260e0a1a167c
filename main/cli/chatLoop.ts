// The interactive loop of `npm run chat`: reads the user's lines behind a `> ` marker and runs one reply
// at a time. Ctrl-C stops the reply in progress; Ctrl-C with no reply running, or Ctrl-D, quits. Plain Node.
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** A reply in progress: `done` resolves when it ends (cancelled included) and rejects on a failure. */
export interface RunningReply {
  cancel(): void;
  readonly done: Promise<unknown>;
}

export interface ChatLoopIo {
  readonly input: Readable;
  /** Where the prompt marker and the echo of typed text go (stderr, so stdout holds only replies). */
  readonly output: Writable;
  /** A terminal: readline reads keys raw, so Ctrl-C arrives as a key here, not as a signal. */
  readonly terminal: boolean;
}

/** The marker before each line the user types. */
export const USER_PROMPT = '> ';

/**
 * Reads lines until Ctrl-D (end of input) or a Ctrl-C with no reply running, starting `reply` for each
 * non-blank line and waiting for it before the next. Resolves when the loop has quit; a failed reply
 * rejects it.
 */
export async function chatLoop(io: Readonly<ChatLoopIo>, reply: (line: string) => RunningReply): Promise<void> {
  const rl = createInterface({ input: io.input, output: io.output, terminal: io.terminal, prompt: io.terminal ? USER_PROMPT : '' });
  let running: RunningReply | null = null;
  // In a terminal readline takes the Ctrl-C key and, without a listener, closes itself: the chat would
  // quit once the reply had run to its end. A real SIGINT (not a terminal, or `kill -INT`) means the same.
  const interrupt = (): void => {
    if (running) running.cancel();
    else rl.close();
  };
  rl.on('SIGINT', interrupt);
  process.on('SIGINT', interrupt);
  try {
    rl.prompt();
    for await (const line of rl) {
      if (line.trim()) {
        running = reply(line);
        await running.done;
        running = null;
      }
      rl.prompt();
    }
  } finally {
    process.off('SIGINT', interrupt);
    rl.close();
  }
}
