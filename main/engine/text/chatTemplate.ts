// ChatTemplate: renders a conversation with the model's Jinja chat template (tokenizer_config.json
// `chat_template`) the way transformers' apply_chat_template does. Runs in the engine host.
import type { ChatMessage } from '../../../common/chat';
import { Interpreter, Template } from '@huggingface/jinja';
import { findSystemPrefix } from './systemPrefix';
import { TemplateRaised, templateEnvironment } from './templateGlobals';
import { SPECIAL_TOKEN_KEYS, additionalSpecialTokens, specialTokenText } from './specialTokens';

export interface RenderOptions {
  /** Append the assistant turn header so the model writes the reply (transformers' add_generation_prompt). */
  readonly addGenerationPrompt: boolean;
}

export interface ChatTemplateOptions {
  /**
   * Which template to use when tokenizer_config.json holds several (`[{name, template}]`). Default:
   * "default" (or the only one there is).
   */
  readonly name?: string;
}

export type ChatTemplateErrorCode =
  /** tokenizer_config.json has no usable `chat_template`; the caller may fall back to a raw prompt. */
  | 'no-chat-template'
  /** The requested named template is not in the list. */
  | 'unknown-template-name'
  /** The template is not valid Jinja. */
  | 'template-syntax'
  /** The template called raise_exception (e.g. Gemma's "System role not supported"). */
  | 'template-raised'
  /** Rendering failed for another reason. */
  | 'template-failed';

/** A chat template that cannot be used or refused a conversation; the message names the file. */
export class ChatTemplateError extends Error {
  override readonly name = 'ChatTemplateError';
  readonly code: ChatTemplateErrorCode;

  constructor(code: ChatTemplateErrorCode, message: string, options?: { cause?: unknown }) {
    super(`tokenizer_config.json: ${message}`, options);
    this.code = code;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Picks the template source from `chat_template` (string, `[{name, template}]` or `{name: template}`). */
function selectSource(raw: unknown, wanted: string | undefined): { source: string; name: string | null } {
  if (raw === undefined || raw === null || raw === '') {
    throw new ChatTemplateError('no-chat-template', 'the model has no chat_template; use a raw prompt instead');
  }
  if (typeof raw === 'string') {
    if (wanted !== undefined && wanted !== 'default') {
      throw new ChatTemplateError('unknown-template-name', `chat_template has no template named "${wanted}" (it has one unnamed template)`);
    }
    return { source: raw, name: null };
  }
  const named = new Map<string, string>();
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      if (isRecord(entry) && typeof entry.name === 'string' && typeof entry.template === 'string') {
        named.set(entry.name, entry.template);
      }
    }
  } else if (isRecord(raw)) {
    for (const [name, template] of Object.entries(raw)) if (typeof template === 'string') named.set(name, template);
  }
  if (named.size === 0) {
    throw new ChatTemplateError('no-chat-template', 'chat_template is neither a string nor a list of {name, template}');
  }
  const names = [...named.keys()].map((n) => `"${n}"`).join(', ');
  if (wanted !== undefined) {
    const source = named.get(wanted);
    if (source === undefined) {
      throw new ChatTemplateError('unknown-template-name', `chat_template has no template named "${wanted}" (it has ${names})`);
    }
    return { source, name: wanted };
  }
  const fallback = named.get('default') ?? (named.size === 1 ? [...named.values()][0] : undefined);
  if (fallback === undefined) {
    throw new ChatTemplateError('no-chat-template', `chat_template has several templates (${names}) and none named "default"`);
  }
  return { source: fallback, name: named.has('default') ? 'default' : [...named.keys()][0] };
}

/**
 * A parsed chat template plus the special-token strings it is rendered with. Immutable; render is
 * pure apart from `strftime_now` (date-stamping templates such as Llama 3.2 read the clock).
 */
export class ChatTemplate {
  /** The name of the chosen template when tokenizer_config.json lists several, else null. */
  readonly templateName: string | null;
  readonly source: string;
  private readonly template: Template;
  private readonly specialTokens: Readonly<Record<string, unknown>>;
  /** Added and special token strings: units a computed cut must not split. */
  private readonly atomicTokens: readonly string[];

  private constructor(
    source: string,
    templateName: string | null,
    specialTokens: Record<string, unknown>,
    atomicTokens: readonly string[],
  ) {
    this.source = source;
    this.templateName = templateName;
    this.specialTokens = specialTokens;
    this.atomicTokens = atomicTokens;
    try {
      this.template = new Template(source);
    } catch (e) {
      throw new ChatTemplateError('template-syntax', `chat_template is not valid Jinja: ${errorText(e)}`, { cause: e });
    }
  }

  /** True when the config carries a chat_template at all (so a caller can choose raw mode up front). */
  static hasChatTemplate(tokenizerConfig: unknown): boolean {
    if (!isRecord(tokenizerConfig)) return false;
    const raw = tokenizerConfig.chat_template;
    return (typeof raw === 'string' && raw !== '') || Array.isArray(raw) || isRecord(raw);
  }

  /**
   * Builds the template from parsed tokenizer_config.json. Throws ChatTemplateError: `no-chat-template`
   * when there is none, `unknown-template-name`, or `template-syntax`.
   */
  static fromTokenizerConfig(tokenizerConfig: unknown, options: Readonly<ChatTemplateOptions> = {}): ChatTemplate {
    if (!isRecord(tokenizerConfig)) {
      throw new ChatTemplateError('no-chat-template', 'expected a JSON object with a chat_template');
    }
    const { source, name } = selectSource(tokenizerConfig.chat_template, options.name);
    const specials: Record<string, unknown> = {};
    for (const key of SPECIAL_TOKEN_KEYS) {
      const text = specialTokenText(tokenizerConfig[key]);
      if (text !== null) specials[key] = text;
    }
    if ('additional_special_tokens' in tokenizerConfig) {
      specials.additional_special_tokens = additionalSpecialTokens(tokenizerConfig.additional_special_tokens);
    }
    const atomic = new Set<string>();
    for (const value of Object.values(specials)) {
      if (typeof value === 'string') atomic.add(value);
      else if (Array.isArray(value)) for (const t of value) atomic.add(String(t));
    }
    const decoder = tokenizerConfig.added_tokens_decoder;
    if (isRecord(decoder)) {
      for (const entry of Object.values(decoder)) {
        const text = specialTokenText(entry);
        if (text !== null) atomic.add(text);
      }
    }
    return new ChatTemplate(source, name, specials, [...atomic]);
  }

  /**
   * Like fromTokenizerConfig, but null when the config has no chat_template (the model only takes raw
   * prompts). A template that is present but broken still throws.
   */
  static tryFromTokenizerConfig(tokenizerConfig: unknown, options: Readonly<ChatTemplateOptions> = {}): ChatTemplate | null {
    if (!ChatTemplate.hasChatTemplate(tokenizerConfig)) return null;
    return ChatTemplate.fromTokenizerConfig(tokenizerConfig, options);
  }

  /**
   * Renders `messages` to the prompt text. Tokenize the result without adding special tokens: the
   * template writes BOS itself where the model wants it. Throws ChatTemplateError (`template-raised`
   * when the template rejects the conversation, e.g. a system message on Gemma).
   */
  render(messages: readonly Readonly<ChatMessage>[], options: Readonly<RenderOptions>): string {
    const variables: Record<string, unknown> = {
      ...this.specialTokens,
      messages: messages.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt,
      tools: null,
      documents: null,
    };
    try {
      // Template.render would declare its own raise_exception; run the parsed program in our env.
      const result = new Interpreter(templateEnvironment(variables, () => new Date())).run(this.template.parsed);
      if (typeof result.value !== 'string') throw new Error(`the template produced ${result.type}, not text`);
      return result.value;
    } catch (e) {
      if (e instanceof TemplateRaised) {
        throw new ChatTemplateError('template-raised', `the chat template rejected the conversation: ${e.message}`, { cause: e });
      }
      throw new ChatTemplateError('template-failed', `the chat template failed to render: ${errorText(e)}`, { cause: e });
    }
  }

  /**
   * The rendered text from the start of a conversation through the end of its system turn, for sizing
   * the attention sinks to cover the system prompt. With `systemPrompt` it is the prefix of any
   * conversation that starts with that system message; without, the system turn the template injects
   * on its own (Qwen2.5's and SmolLM2's default system prompts, Llama 3.1's date header). Null when the
   * template rejects or drops system messages, or injects none. See systemPrefix.ts for the method.
   *
   * The returned text ends where the system turn ends: after its end-of-turn marker for templates
   * with separate turns (`<|im_end|>\n`, `<|eot_id|>`, `<|end|>\n`), or just before the first user
   * message's text where the system prompt is folded into the first user turn (Llama 2's
   * `<</SYS>>\n\n`, Gemma 3). Its tokens are normally a prefix of the conversation's tokens; a caller
   * counting them should still compare against the real token stream.
   */
  systemPromptPrefix(systemPrompt?: string): string | null {
    return findSystemPrefix((messages) => {
      try {
        return this.render(messages, { addGenerationPrompt: false });
      } catch {
        return null;
      }
    }, systemPrompt, this.atomicTokens);
  }

  /**
   * systemPromptPrefix for a conversation: uses its leading system message, if any (else the
   * template's injected default system turn, if any).
   */
  systemPrefix(messages: readonly Readonly<ChatMessage>[]): string | null {
    const first = messages[0];
    return this.systemPromptPrefix(first?.role === 'system' ? first.content : undefined);
  }
}
