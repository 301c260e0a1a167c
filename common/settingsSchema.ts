// Runtime schemas and types of the app settings and of a conversation's setting overrides.
// Pure data (zod only): storage, the IPC contract and the renderer import it alike.

import { z } from 'zod';
import { PROVIDER_NAMES } from './providers';

// Field schemas without defaults, shared by the full settings (which add defaults) and by the
// overrides (where every field is optional and absence means "use the app setting").
const temperature = z.number().min(0, 'temperature must be >= 0').max(5, 'temperature must be <= 5');
const topK = z.int('topK must be a whole number').min(0, 'topK must be >= 0 (0 turns it off)');
const topP = z.number().gt(0, 'topP must be > 0').max(1, 'topP must be <= 1');
const minP = z.number().min(0, 'minP must be >= 0').max(1, 'minP must be <= 1');
const repetitionPenalty = z.number().gt(0, 'repetitionPenalty must be > 0').max(10, 'repetitionPenalty must be <= 10');
const maxTokens = z
  .int('maxTokens must be a whole number')
  .min(1, 'maxTokens must be >= 1')
  .max(1_000_000, 'maxTokens must be <= 1000000');
const seed = z
  .int('seed must be a whole number or null')
  .min(0, 'seed must be >= 0')
  .max(0xffff_ffff, 'seed must fit in 32 bits')
  .nullable();
const sinkError = 'cache.sink must be "auto" or a whole number >= 0';
const windowError = 'cache.window must be "auto" or a whole number >= 1';
const sinkSize = z.union([z.literal('auto'), z.int(sinkError).min(0, sinkError)], { error: sinkError });
const windowSize = z.union([z.literal('auto'), z.int(windowError).min(1, windowError)], { error: windowError });
const pinError = 'cache.pinBudget must be "auto" or a whole number >= 0';
const pinBudget = z.union([z.literal('auto'), z.int(pinError).min(0, pinError)], { error: pinError });
const positions = z.enum(['cache', 'original'], { error: 'cache.positions must be "cache" or "original"' });
const theme = z.enum(['system', 'light', 'dark'], { error: 'theme must be system, light or dark' });
/**
 * How 4-bit (MatMulNBits) weights multiply on CPU: `int8` quantizes the activations per block of 32, as
 * llama.cpp's Q4_0 × Q8_0 does (faster; bench/README section 10b measures what it costs); `exact` keeps them fp32.
 */
export const Q4ComputeSchema = z.enum(['int8', 'exact'], { error: 'q4Compute must be int8 or exact' });
const modelId = z.string().min(1, 'lastModelId must be a non-empty model id').nullable();
const systemPrompt = z
  .string('systemPrompt must be text')
  .max(100_000, 'systemPrompt is longer than 100000 characters');
// A Hugging Face access token (hf_…): printable ASCII without spaces. Stored in settings.json in plain
// text for now (Electron safeStorage could encrypt it later); it never leaves main (see redactSettings).
const hfToken = z
  .string('hfToken must be text')
  .max(400, 'hfToken is longer than 400 characters')
  .regex(/^[\x21-\x7e]*$/, 'hfToken must be a Hugging Face token (no spaces or other characters)')
  .nullable();
const hubBaseUrl = z.url({ protocol: /^https?$/, error: 'hubBaseUrl must be an http(s) URL such as https://huggingface.co' });
const hfTokenMirror = z
  .url({ protocol: /^https$/, error: 'hfTokenMirror must be an https:// address: Ouro never sends the token over http' })
  .nullable();

/** Where model downloads come from unless Settings name a mirror; the one place the token always may go. */
export const DEFAULT_HUB_BASE_URL = 'https://huggingface.co';

/**
 * Whether the Hugging Face token may be sent to `url`: only over https, and only to huggingface.co or to
 * the mirror the user marked as trusted with it (`trustedMirror`, compared by origin). The one home of
 * this rule: the downloader applies it, the settings form shows it.
 */
export function tokenMayGoTo(url: string, trustedMirror: string | null): boolean {
  const origin = originOf(url);
  if (origin === null || !origin.startsWith('https://')) return false;
  return origin === DEFAULT_HUB_BASE_URL || (trustedMirror !== null && origin === originOf(trustedMirror));
}

/** The origin of an absolute URL, or null. */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * What the renderer sees in place of a saved Hugging Face token: it can tell that one is saved, never
 * read it back. It fails the token pattern, so sending it back in a patch cannot overwrite the token.
 */
export const SAVED_TOKEN_MASK = '\u2022saved\u2022';

/** Execution providers the user can ask for; `auto` lets the engine pick and fall back to cpu. */
export const ProviderSchema = z.enum(['auto', ...PROVIDER_NAMES], {
  error: `provider must be one of auto, ${PROVIDER_NAMES.join(', ')}`,
});

/** Sampling settings with their defaults (DESIGN §2 Sampling). `seed: null` means a fresh random seed per reply. */
export const SamplingSettingsSchema = z
  .object({
    temperature: temperature.default(0.7),
    topK: topK.default(40),
    topP: topP.default(0.95),
    minP: minP.default(0.05),
    repetitionPenalty: repetitionPenalty.default(1.1),
    maxTokens: maxTokens.default(1024),
    seed: seed.default(null),
  })
  .prefault({});

/**
 * Cache settings (DESIGN §3): sink size S, window size W (`auto`: the engine picks from the model's
 * trained length), the positions mode and the pin budget (tokens the user may pin; `auto`: a quarter of
 * the window; capped at the window).
 */
export const CacheSettingsSchema = z
  .object({
    sink: sinkSize.default('auto'),
    window: windowSize.default('auto'),
    positions: positions.default('cache'),
    pinBudget: pinBudget.default('auto'),
  })
  .prefault({});

const serverPort = z.int('server.port must be a whole number').min(1, 'server.port must be 1-65535').max(65535, 'server.port must be 1-65535');
// Sent by clients as `Authorization: Bearer <key>`: printable ASCII without spaces, so any client can send it.
const serverKey = z
  .string('server.apiKey must be text')
  .max(200, 'server.apiKey is longer than 200 characters')
  .regex(/^[\x21-\x7e]*$/, 'server.apiKey may hold letters, digits and punctuation, no spaces')
  .nullable();
const serverHost = z
  .string('server.host must be text')
  .regex(/^[\w.:-]{1,253}$/, 'server.host must be an IP address or a host name, such as 127.0.0.1');
const serverStreams = z.int('server.streams must be a whole number').min(1, 'server.streams must be >= 1').max(64, 'server.streams must be <= 64');

/**
 * The local OpenAI-compatible server (off by default). It listens on `host` (loopback unless the user
 * names another interface, which then requires `apiKey`) and keeps `streams` conversations cached.
 */
export const ServerSettingsSchema = z
  .object({
    enabled: z.boolean('server.enabled must be true or false').default(false),
    host: serverHost.default('127.0.0.1'),
    port: serverPort.default(8080),
    apiKey: serverKey.default(null),
    streams: serverStreams.default(4),
  })
  .prefault({});

/** The main window's last bounds, restored at start. */
export const WindowBoundsSchema = z.object({
  x: z.int().optional(),
  y: z.int().optional(),
  width: z.int().min(200, 'window width must be >= 200'),
  height: z.int().min(200, 'window height must be >= 200'),
  maximized: z.boolean().optional(),
});

/** Every app setting with a default, so `AppSettingsSchema.parse({})` is the defaults. Unknown keys are dropped. */
export const AppSettingsSchema = z.object({
  systemPrompt: systemPrompt.default('You are a helpful assistant.'),
  sampling: SamplingSettingsSchema,
  cache: CacheSettingsSchema,
  provider: ProviderSchema.default('auto'),
  q4Compute: Q4ComputeSchema.default('int8'),
  theme: theme.default('system'),
  windowBounds: WindowBoundsSchema.nullable().default(null),
  lastModelId: modelId.default(null),
  /** Sent with Hub requests (gated and private models); null: none. Never sent to the renderer. */
  hfToken: hfToken.default(null),
  /** The Hugging Face Hub (or a mirror) model downloads come from. */
  hubBaseUrl: hubBaseUrl.default(DEFAULT_HUB_BASE_URL),
  /** An https mirror the user trusts with the token (see tokenMayGoTo); null: the token goes to huggingface.co only. */
  hfTokenMirror: hfTokenMirror.default(null),
  server: ServerSettingsSchema,
});

/** Per-conversation overrides of the chat settings; every field optional, absent = the app setting. */
export const ConversationSettingsSchema = z.object({
  systemPrompt: systemPrompt.optional(),
  sampling: z
    .object({
      temperature: temperature.optional(),
      topK: topK.optional(),
      topP: topP.optional(),
      minP: minP.optional(),
      repetitionPenalty: repetitionPenalty.optional(),
      maxTokens: maxTokens.optional(),
      seed: seed.optional(),
    })
    .optional(),
  cache: z
    .object({ sink: sinkSize.optional(), window: windowSize.optional(), positions: positions.optional(), pinBudget: pinBudget.optional() })
    .optional(),
});

/** A change to the app settings: any subset, nested groups merged field by field; `null` clears a nullable field. */
export const SettingsPatchSchema = z.object({
  systemPrompt: systemPrompt.optional(),
  sampling: ConversationSettingsSchema.shape.sampling,
  cache: ConversationSettingsSchema.shape.cache,
  provider: ProviderSchema.optional(),
  q4Compute: Q4ComputeSchema.optional(),
  theme: theme.optional(),
  windowBounds: WindowBoundsSchema.nullable().optional(),
  lastModelId: modelId.optional(),
  /** A new token, or null to forget the saved one. */
  hfToken: hfToken.optional(),
  hubBaseUrl: hubBaseUrl.optional(),
  /** Trust this mirror with the token (the settings form sets it to the Hub address, with a warning), or null. */
  hfTokenMirror: hfTokenMirror.optional(),
  server: z
    .object({ enabled: z.boolean().optional(), host: serverHost.optional(), port: serverPort.optional(), apiKey: serverKey.optional(), streams: serverStreams.optional() })
    .optional(),
});

export type AppSettings = z.output<typeof AppSettingsSchema>;
export type SamplingSettings = z.output<typeof SamplingSettingsSchema>;
export type CacheSettings = z.output<typeof CacheSettingsSchema>;
export type ServerSettings = z.output<typeof ServerSettingsSchema>;
export type WindowBounds = z.output<typeof WindowBoundsSchema>;
export type Provider = z.output<typeof ProviderSchema>;
export type Theme = z.output<typeof theme>;
export type Q4Compute = z.output<typeof Q4ComputeSchema>;
export type ConversationSettings = z.output<typeof ConversationSettingsSchema>;
export type SettingsPatch = z.input<typeof SettingsPatchSchema>;

/** The settings a chat turn runs with: the app settings with a conversation's overrides laid over them. */
export interface EffectiveChatSettings {
  readonly systemPrompt: string;
  readonly sampling: Readonly<SamplingSettings>;
  readonly cache: Readonly<CacheSettings>;
}

/** The default settings (a fresh object each call). */
export function defaultSettings(): AppSettings {
  return AppSettingsSchema.parse({});
}

/** Lays `overrides` over `app`, field by field. */
export function effectiveChatSettings(
  app: Readonly<AppSettings>,
  overrides?: Readonly<ConversationSettings>,
): EffectiveChatSettings {
  return {
    systemPrompt: overrides?.systemPrompt ?? app.systemPrompt,
    sampling: { ...app.sampling, ...definedOnly(overrides?.sampling) },
    cache: { ...app.cache, ...definedOnly(overrides?.cache) },
  };
}

/** The settings as they may leave main (IPC, the browser transport, events): the token masked. */
export function redactSettings(settings: Readonly<AppSettings>): AppSettings {
  return { ...settings, hfToken: settings.hfToken ? SAVED_TOKEN_MASK : null };
}

/** A copy of `value` without its `undefined` fields, so spreading it never clears a setting. */
export function definedOnly<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
