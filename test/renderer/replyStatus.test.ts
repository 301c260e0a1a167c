// Why a finished reply is empty, from how it ended (the stored endReason). Runs under Vitest (Node).
import { describe, expect, it } from 'vitest';
import { emptyReplyReason } from '../../renderer/components/ReplyFooter';
import { msg } from './rendererTestKit';

describe('an empty reply says why', () => {
  it('names the end token, a stop string or the token limit', () => {
    const empty = (endReason: 'eos' | 'stop' | 'max' | undefined, tokens = 1) => msg('r', 'assistant', ' \n', { endReason, stats: { tokens, tokPerSec: 0, ttftMs: 0, reprocessedTokens: 0 } });
    expect(emptyReplyReason(empty('eos'))).toMatch(/^Empty reply: the model ended it at once \(its end-of-text token came first\)/);
    expect(emptyReplyReason(empty('stop'))).toMatch(/stop strings came before any text/);
    expect(emptyReplyReason(empty('max', 1))).toMatch(/reached Max tokens \(1 token\) before writing any visible text/);
    expect(emptyReplyReason(empty(undefined))).toMatch(/^Empty reply: the model wrote no text/);
    expect(emptyReplyReason(msg('r', 'assistant', 'Once upon a time', { endReason: 'eos' }))).toBeNull();
    expect(emptyReplyReason(msg('r', 'assistant', '', { status: 'stopped' }))).toBeNull();
  });
});
