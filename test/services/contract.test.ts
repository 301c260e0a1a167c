// The contract's run-time checks: every malformed request becomes a typed bad-request error, never a throw.
// Runs under Vitest (Node).
import { describe, expect, it } from 'vitest';
import { isApiError, parseRequest, verbs } from '../../common/contract';

function rejected(verb: unknown, args: unknown): string {
  const r = parseRequest(verb, args);
  if (r.ok) throw new Error(`${String(verb)} ${JSON.stringify(args)} was accepted`);
  expect(r.error.code).toBe('bad-request');
  return r.error.message;
}

describe('parseRequest', () => {
  it('accepts every verb with well-formed arguments and returns the parsed args', () => {
    const r = parseRequest('chat.send', { conversationId: 'abc-123_X', content: 'hi' });
    expect(r).toEqual({ ok: true, verb: 'chat.send', args: { conversationId: 'abc-123_X', content: 'hi' } });
    expect(parseRequest('app.info', undefined).ok).toBe(true);
    expect(parseRequest('settings.update', { patch: { sampling: { temperature: 0 }, cache: { sink: 4, window: 'auto' } } }).ok).toBe(true);
  });

  it('rejects unknown verbs, including prototype keys and non-strings', () => {
    expect(rejected('chat.hack', {})).toMatch(/unknown verb "chat.hack"/);
    for (const verb of ['toString', '__proto__', 'constructor', 42, null, undefined, { verb: 'app.info' }]) rejected(verb, {});
    expect(rejected('x'.repeat(10_000), {}).length).toBeLessThan(200);
  });

  it('rejects missing fields, extra fields and wrong types, naming the field', () => {
    expect(rejected('chat.send', { conversationId: 'a' })).toMatch(/^chat\.send: content: /);
    expect(rejected('chat.send', { conversationId: 'a', content: 'x', admin: true })).toMatch(/admin/);
    expect(rejected('app.info', { extra: 1 })).toMatch(/extra/);
    expect(rejected('chat.send', { conversationId: 'a', content: 5 })).toMatch(/content/);
    expect(rejected('conversations.export', { conversationId: 'a', format: 'pdf' })).toMatch(/format/);
    expect(rejected('settings.update', { patch: { sampling: { temperature: -1 } } })).toMatch(/temperature must be >= 0/);
    rejected('chat.send', 'not an object');
    rejected('chat.send', [1, 2]);
  });

  it('rejects empty and oversize strings', () => {
    expect(rejected('chat.send', { conversationId: 'a', content: '' })).toMatch(/not empty/);
    expect(rejected('chat.send', { conversationId: 'a', content: 'x'.repeat(1_000_001) })).toMatch(/1,000,000/);
    expect(rejected('conversations.rename', { conversationId: 'a', title: 't'.repeat(501) })).toMatch(/500/);
    rejected('models.import', { dir: 'd'.repeat(4097) });
    rejected('chat.preview', { conversationId: 'a', draft: 'x'.repeat(1_000_001) });
  });

  it('rejects conversation ids that could name another file', () => {
    for (const id of ['../secrets', 'a/b', 'a\\b', '.', '..', '', 'x'.repeat(65), 'a b', 'a\u0000b', 'é']) {
      expect(rejected('conversations.open', { conversationId: id })).toMatch(/conversation id/);
    }
  });

  it('covers every verb with a strict schema', () => {
    for (const verb of Object.keys(verbs)) expect(parseRequest(verb, { surplus: 1 }).ok, verb).toBe(false);
  });
});

describe('isApiError', () => {
  it('recognises serialised errors only', () => {
    expect(isApiError({ code: 'busy', message: 'wait' })).toBe(true);
    expect(isApiError(new Error('x'))).toBe(false);
    expect(isApiError(null)).toBe(false);
    expect(isApiError({ code: 1, message: 'x' })).toBe(false);
  });
});
