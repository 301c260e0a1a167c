// Maps the app's settings and a stored conversation onto the engine host's generate request, and the
// engine's stats back onto a stored message's. Pure functions; run in main.
import type { ChatMessage } from '../../common/chat';
import { randomInt } from 'node:crypto';
import type { CacheSettings as EngineCacheSettings, Prompt } from '../engine/chatTypes';
import type { SamplingParams } from '../engine/sampling/samplingParams';
import type { GenerationStats } from '../../common/stats';
import type { HostArgs, StreamId, ViewLabels } from '../host/protocol';
import type { Message, MessageStats } from '../../common/conversationSchema';
import type { CacheSettings, EffectiveChatSettings, SamplingSettings } from '../../common/settingsSchema';

/** How many recent tokens the repetition penalty looks at (the settings expose the penalty, not the window). */
export const REPETITION_WINDOW = 64;

/** A fresh seed for a reply whose settings say `seed: null`. */
export function randomSeed(): number {
  return randomInt(0, 0x1_0000_0000);
}

/** The engine's sampling parameters for one reply; temperature 0 means greedy. */
export function samplingParams(settings: Readonly<SamplingSettings>, seed: () => number = randomSeed): SamplingParams {
  return {
    greedy: settings.temperature === 0,
    temperature: settings.temperature,
    topK: settings.topK,
    topP: settings.topP,
    minP: settings.minP,
    repetitionPenalty: settings.repetitionPenalty,
    repetitionWindow: REPETITION_WINDOW,
    seed: settings.seed ?? seed(),
  };
}

/** The engine's cache settings: a window of `auto` is left to the engine (it sizes it from the model). */
export function engineCacheSettings(cache: Readonly<CacheSettings>): EngineCacheSettings {
  return cache.window === 'auto'
    ? { sink: cache.sink, positions: cache.positions }
    : { sink: cache.sink, window: cache.window, positions: cache.positions };
}

/**
 * The whole conversation as a chat prompt: the system prompt (when not empty), then every stored
 * message with its text as stored. Replies that stopped or failed keep their partial text, so the
 * rendered conversation stays a continuation of what the engine already consumed.
 */
export function chatPrompt(systemPrompt: string, messages: readonly Readonly<Pick<Message, 'role' | 'content'>>[]): ChatPrompt {
  const rendered: ChatMessage[] = systemPrompt.trim() === '' ? [] : [{ role: 'system', content: systemPrompt }];
  for (const m of messages) if (m.role !== 'system') rendered.push({ role: m.role, content: m.content });
  return { kind: 'chat', messages: rendered };
}

/** A conversation as the engine reads it: a chat prompt. */
export type ChatPrompt = Extract<Prompt, { kind: 'chat' }>;

/**
 * The cache view's names for `prompt` (built by {@link chatPrompt} from `messages`): the conversation's
 * id and each prompt message's id, '' for the system prompt.
 */
export function viewLabels(conversationId: string, prompt: ChatPrompt, messages: readonly Readonly<Pick<Message, 'id' | 'role'>>[]): ViewLabels {
  const ids = messages.filter((m) => m.role !== 'system').map((m) => m.id);
  if (prompt.messages.length > ids.length) ids.unshift('');
  return { stream: conversationId, ids };
}

/**
 * The host `generate` arguments on `stream` for reply `replyId` to conversation `conversationId`'s
 * `messages`.
 */
export function generateRequest(
  stream: StreamId,
  settings: Readonly<EffectiveChatSettings>,
  conversationId: string,
  messages: readonly Readonly<Message>[],
  replyId: string,
  seed: () => number = randomSeed,
): HostArgs<'generate'> {
  const prompt = chatPrompt(settings.systemPrompt, messages);
  return {
    stream,
    prompt,
    options: { sampling: samplingParams(settings.sampling, seed), maxTokens: settings.sampling.maxTokens },
    cache: engineCacheSettings(settings.cache),
    view: { ...viewLabels(conversationId, prompt, messages), replyId },
  };
}

/** A reply's stored stats; `reprocessedTokens` is passed in because a rebuilt context counts too. */
export function messageStats(stats: Readonly<GenerationStats>): MessageStats {
  return {
    tokens: stats.decodeTokens,
    tokPerSec: finite(stats.decodeTokPerSec),
    ttftMs: finite(stats.timeToFirstTokenMs),
    reprocessedTokens: stats.reprocessedTokens,
  };
}

function finite(x: number): number {
  return Number.isFinite(x) && x > 0 ? x : 0;
}
