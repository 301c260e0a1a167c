// The OpenAI-compatible server's request bodies: zod schemas for /v1/chat/completions and /v1/completions,
// mapped onto the engine's prompt and generate options, and OpenAI's error shape. Runs in main (or the
// `npm run serve` process); pure code, no I/O.
import { z } from 'zod';
import type { ChatMessage } from '../../common/chat';
import type { GenerateOptions, Prompt } from '../engine/chatTypes';

/** An error in OpenAI's shape with its HTTP status (`param` names the field at fault). */
export class OpenAIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error',
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  get body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const message = z.object({
  // `developer` is the newer name OpenAI gives system instructions.
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
});

/** Fields both endpoints share (OpenAI's names; null means "the default", as OpenAI's API treats it). */
const sampling = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: z.int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: z.literal(1, { error: 'only n=1 is supported' }).nullish(),
};

const chatSchema = z.object({
  ...sampling,
  messages: z.array(message).min(1),
  max_completion_tokens: z.int().min(1).nullish(),
});

const completionSchema = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1, { error: 'only one prompt per request is supported' })]),
  echo: z.literal(false, { error: 'echo is not supported' }).nullish(),
  suffix: z.null({ error: 'suffix is not supported' }).optional(),
});

/** A validated request: what to feed and how to sample, ready for a generate on some stream. */
export interface ParsedRequest {
  readonly model: string;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly prompt: Prompt;
  readonly options: GenerateOptions;
}

export interface RequestDefaults {
  readonly maxTokens: number;
  /** Seed for a request that names none. */
  readonly seed: () => number;
}

export function parseChatRequest(body: unknown, defaults: RequestDefaults): ParsedRequest & { prompt: { kind: 'chat' } } {
  const r = parseWith(chatSchema, body);
  const messages: ChatMessage[] = r.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : (m.content ?? []).map((p) => p.text).join(''),
  }));
  return { ...common(r, r.max_completion_tokens ?? r.max_tokens, defaults), prompt: { kind: 'chat', messages } };
}

export function parseCompletionRequest(body: unknown, defaults: RequestDefaults): ParsedRequest {
  const r = parseWith(completionSchema, body);
  const text = typeof r.prompt === 'string' ? r.prompt : r.prompt[0];
  if (text === '') throw new OpenAIError(400, 'prompt must not be empty', 'invalid_request_error', 'invalid_value', 'prompt');
  return { ...common(r, r.max_tokens, defaults), prompt: { kind: 'raw', text } };
}

type Common = z.output<z.ZodObject<typeof sampling>>;

/** OpenAI's sampling defaults (temperature 1, top_p 1, no other filter); temperature 0 picks the argmax. */
function common(r: Common, maxTokens: number | null | undefined, defaults: RequestDefaults): Omit<ParsedRequest, 'prompt'> {
  const temperature = r.temperature ?? 1;
  const stop = r.stop == null ? [] : typeof r.stop === 'string' ? [r.stop] : r.stop;
  return {
    model: r.model,
    stream: r.stream === true,
    includeUsage: r.stream_options?.include_usage === true,
    options: {
      sampling: {
        greedy: temperature === 0,
        temperature,
        topK: 0,
        topP: r.top_p ?? 1,
        minP: 0,
        repetitionPenalty: 1,
        repetitionWindow: 0,
        seed: r.seed ?? defaults.seed(),
      },
      maxTokens: maxTokens ?? defaults.maxTokens,
      stop: stop.filter((s) => s !== ''),
    },
  };
}

function parseWith<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OpenAIError(400, 'the request body must be a JSON object', 'invalid_request_error', 'invalid_body');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const param = paramName(issue.path);
  const missing = issue.code === 'invalid_type' && (body as Record<string, unknown>)[String(issue.path[0])] === undefined && issue.path.length === 1;
  throw new OpenAIError(
    400,
    missing ? `missing required parameter: '${param}'` : `invalid value for '${param}': ${issue.message}`,
    'invalid_request_error',
    missing ? 'missing_required_parameter' : 'invalid_value',
    param,
  );
}

/** `messages[2].content` from a zod path. */
function paramName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const p of path) name += typeof p === 'number' ? `[${p}]` : `${name ? '.' : ''}${String(p)}`;
  return name || 'body';
}
