// Finds where the system turn ends in a rendered chat template, by rendering sentinel conversations.
// Runs in the engine host (used by ChatTemplate.systemPromptPrefix).
import type { ChatMessage } from '../../../common/chat';
import { commonPrefixLength } from './commonPrefix';

/** Renders messages without a generation prompt; null when the template refuses them. */
export type RenderFn = (messages: readonly ChatMessage[]) => string | null;

// Plain ASCII words: they survive `| trim`, escaping and any tokenizer, and never occur in templates.
const SYSTEM_SENTINEL = 'OUROSENTINELSYSTEM7F3A';
const USER_SENTINEL = 'OUROSENTINELUSER7F3A';

/**
 * The template's system-turn geometry, from `[system(S), user(U)]` rendered with sentinels:
 * `head S tail U userEnd`. `tail` is the system turn's end plus the user turn's header; the system
 * turn ends `cut` code units into `tail`.
 */
interface Geometry {
  readonly head: string;
  readonly tail: string;
  readonly cut: number;
}

/** Moves `cut` back to the start of an atomic token (`<|user|>`) it would split, if any. */
function snapOutOfTokens(text: string, cut: number, atomic: readonly string[]): number {
  let snapped = cut;
  for (const token of atomic) {
    if (token.length < 2) continue;
    let i = text.indexOf(token);
    while (i >= 0 && i < cut) {
      if (i + token.length > cut) snapped = Math.min(snapped, i);
      i = text.indexOf(token, i + 1);
    }
  }
  return snapped;
}

function geometry(render: RenderFn, atomic: readonly string[]): Geometry | null {
  const text = render([
    { role: 'system', content: SYSTEM_SENTINEL },
    { role: 'user', content: USER_SENTINEL },
  ]);
  if (text === null) return null;
  const s = text.indexOf(SYSTEM_SENTINEL);
  const u = text.indexOf(USER_SENTINEL);
  // The template dropped the system message, or placed it after the user's text: no prefix to give.
  if (s < 0 || u < 0 || s > u) return null;
  const head = text.slice(0, s);
  const tail = text.slice(s + SYSTEM_SENTINEL.length, u);
  const userEnd = text.slice(u + USER_SENTINEL.length);
  let cut: number;
  const shared = commonPrefixLength(tail, userEnd);
  if (userEnd.length > 0 && shared === userEnd.length) {
    // Separate turns (ChatML, Llama 3, Gemma-style markers): the system turn ends with the same
    // marker a user turn ends with, and the user header follows it.
    cut = userEnd.length;
  } else if (shared > 0) {
    // Separate turns, but the last turn ends with more (Phi-3 appends eos_token when there is no
    // generation prompt): the shared part, not splitting a special token (`<|end|>\n<|` → `<|end|>\n`).
    cut = snapOutOfTokens(tail, shared, atomic);
  } else if (userEnd.length > 0) {
    // The system prompt is folded into the first user turn (Llama 2 `<</SYS>>\n\n`, Gemma 3): it
    // ends where the user's own text begins.
    cut = tail.length;
  } else {
    // No end-of-turn marker at all: keep the separator whitespace after the system text.
    cut = tail.length - tail.trimStart().length;
  }
  return { head, tail, cut };
}

/**
 * The rendered prefix through the end of the system turn (see ChatTemplate.systemPromptPrefix):
 * for `systemPrompt`, or (when undefined or blank) for the system turn the template injects itself.
 * `atomic` lists the special/added token strings a cut must not split.
 */
export function findSystemPrefix(
  render: RenderFn,
  systemPrompt: string | undefined,
  atomic: readonly string[],
): string | null {
  const g = geometry(render, atomic);
  if (g === null) return null;
  const hasSystem = systemPrompt !== undefined && systemPrompt.trim() !== '';
  const messages: ChatMessage[] = hasSystem
    ? [
        { role: 'system', content: systemPrompt },
        { role: 'user', content: USER_SENTINEL },
      ]
    : [{ role: 'user', content: USER_SENTINEL }];
  const text = render(messages);
  if (text === null) return null;
  const u = text.indexOf(USER_SENTINEL);
  if (u < 0) return null;
  const before = text.slice(0, u);
  // The text between the system content and the user's text must be the same as with the sentinel,
  // else the template does something this method cannot place.
  if (!before.endsWith(g.tail)) return null;
  // Without a system message: an injected default system turn shows as the same head and tail with
  // some (possibly empty) content between them; ChatML without a default has neither.
  if (!hasSystem && !(before.startsWith(g.head) && before.length >= g.head.length + g.tail.length)) return null;
  return before.slice(0, before.length - g.tail.length + g.cut);
}
