// Number and unit words the UI shows. Runs under Vitest (Node).
import { describe, expect, it } from 'vitest';
import { formatTokens } from '../../renderer/format';

describe('formatTokens', () => {
  it('says "1 token", never "1 tokens"', () => {
    expect([0, 1, 2, 1024].map(formatTokens)).toEqual(['0 tokens', '1 token', '2 tokens', '1,024 tokens']);
  });
});
