// The settings form's model: text drafts of every field, and their conversion into a settings patch or a
// conversation's overrides, validated by the storage schemas so the form shows their messages. Renderer.
import type { AppSettings } from '../../common/contract';
import {
  ConversationSettingsSchema,
  SettingsPatchSchema,
  type ConversationSettings,
  type SettingsPatch,
} from '../../common/settingsSchema';

/** Every field the form edits, named as in the schemas (so their messages read right). */
export const SETTINGS_FIELDS = [
  'systemPrompt',
  'temperature',
  'topK',
  'topP',
  'minP',
  'repetitionPenalty',
  'maxTokens',
  'seed',
  'sink',
  'window',
  'positions',
  'pinBudget',
  'provider',
  'q4Compute',
  'theme',
] as const;

export type SettingsField = (typeof SETTINGS_FIELDS)[number];

/** What the form calls each field: the words its messages use too, never the schema's names. */
export const FIELD_LABELS: Readonly<Record<SettingsField, string>> = {
  systemPrompt: 'System prompt',
  temperature: 'Temperature',
  topK: 'Top-k',
  topP: 'Top-p',
  minP: 'Min-p',
  repetitionPenalty: 'Repetition penalty',
  maxTokens: 'Max tokens',
  seed: 'Seed',
  sink: 'Sink tokens',
  window: 'Window tokens',
  positions: 'Positions',
  pinBudget: 'Pin budget',
  provider: 'Provider',
  q4Compute: '4-bit compute',
  theme: 'Theme',
};

/** A schema message ("cache.window must be …") as the form says it ("Window tokens must be …"). */
export function labelledMessage(field: SettingsField, message: string): string {
  const named = /^((?:\w+\.)*)(\w+) /.exec(message);
  return named && named[2] === field ? `${FIELD_LABELS[field]} ${message.slice(named[0].length)}` : message;
}

/**
 * What a cache field of the form shows as `auto` came to, as "auto (252)": when the field reads `auto`
 * (or, blank in an overrides draft, falls back to an `auto` default) and the engine's value is known.
 */
export function resolvedAuto(shown: string, fallback: string | undefined, resolved: number | null): string | null {
  const value = shown.trim() || (fallback ?? '');
  return resolved !== null && value.trim().toLowerCase() === 'auto' ? `auto (${resolved.toLocaleString('en-US')})` : null;
}
export type SamplingField = 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'maxTokens';

/** The form as typed: every field a string. In an overrides draft, '' means "use the app setting". */
export type SettingsDraft = Record<SettingsField, string>;
export type FieldErrors = Partial<Record<SettingsField, string>>;

export type FormResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: FieldErrors };

const SAMPLING_FIELDS: readonly SamplingField[] = ['temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'maxTokens'];
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i;
const RANDOM = 'random';

/** An empty draft (every field blank). */
export function blankDraft(): SettingsDraft {
  return Object.fromEntries(SETTINGS_FIELDS.map((f) => [f, ''])) as SettingsDraft;
}

/** The draft showing the app settings. A random seed shows as blank. */
export function draftFromSettings(settings: Readonly<AppSettings>): SettingsDraft {
  const { sampling, cache } = settings;
  return {
    systemPrompt: settings.systemPrompt,
    temperature: String(sampling.temperature),
    topK: String(sampling.topK),
    topP: String(sampling.topP),
    minP: String(sampling.minP),
    repetitionPenalty: String(sampling.repetitionPenalty),
    maxTokens: String(sampling.maxTokens),
    seed: sampling.seed === null ? '' : String(sampling.seed),
    sink: String(cache.sink),
    window: String(cache.window),
    positions: cache.positions,
    pinBudget: String(cache.pinBudget),
    provider: settings.provider,
    q4Compute: settings.q4Compute,
    theme: settings.theme,
  };
}

/** The draft showing a conversation's overrides: blank where the app setting applies. */
export function draftFromOverrides(overrides: Readonly<ConversationSettings> | undefined): SettingsDraft {
  const draft = blankDraft();
  if (!overrides) return draft;
  if (overrides.systemPrompt !== undefined) draft.systemPrompt = overrides.systemPrompt;
  for (const field of SAMPLING_FIELDS) {
    const value = overrides.sampling?.[field];
    if (value !== undefined) draft[field] = String(value);
  }
  const seed = overrides.sampling?.seed;
  if (seed !== undefined) draft.seed = seed === null ? RANDOM : String(seed);
  if (overrides.cache?.sink !== undefined) draft.sink = String(overrides.cache.sink);
  if (overrides.cache?.window !== undefined) draft.window = String(overrides.cache.window);
  if (overrides.cache?.positions !== undefined) draft.positions = overrides.cache.positions;
  if (overrides.cache?.pinBudget !== undefined) draft.pinBudget = String(overrides.cache.pinBudget);
  return draft;
}

function parseNumber(field: SettingsField, raw: string, errors: FieldErrors): number {
  const text = raw.trim();
  if (NUMBER.test(text)) return Number(text);
  errors[field] ??= `${FIELD_LABELS[field]} ${text ? 'must be a number' : 'is required'}`;
  return Number.NaN;
}

/** "auto" stays a string (the schema accepts it); anything else is read as a number, or passed on raw for the schema's message. */
function autoOrNumber(raw: string): string | number {
  const text = raw.trim();
  if (text.toLowerCase() === 'auto') return 'auto';
  return NUMBER.test(text) ? Number(text) : text;
}

function seedValue(raw: string, errors: FieldErrors): number | null {
  const text = raw.trim();
  if (!text || text.toLowerCase() === RANDOM) return null;
  return parseNumber('seed', text, errors);
}

function isField(key: unknown): key is SettingsField {
  return typeof key === 'string' && (SETTINGS_FIELDS as readonly string[]).includes(key);
}

/** Adds each schema issue to the field its path ends in, keeping the first message per field. */
function collectIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[], errors: FieldErrors): void {
  for (const issue of issues) {
    const field = [...issue.path].reverse().find(isField);
    if (field && !errors[field]) errors[field] = labelledMessage(field, issue.message);
  }
}

/** The app-settings patch the draft describes, or the messages of every invalid field. */
export function patchFromDraft(draft: Readonly<SettingsDraft>): FormResult<SettingsPatch> {
  const errors: FieldErrors = {};
  const sampling: Record<string, number | null> = {};
  for (const field of SAMPLING_FIELDS) sampling[field] = parseNumber(field, draft[field], errors);
  sampling.seed = seedValue(draft.seed, errors);
  const candidate = {
    systemPrompt: draft.systemPrompt,
    sampling,
    cache: {
      sink: draft.sink.trim() ? autoOrNumber(draft.sink) : 'auto',
      window: draft.window.trim() ? autoOrNumber(draft.window) : 'auto',
      positions: draft.positions,
      pinBudget: draft.pinBudget.trim() ? autoOrNumber(draft.pinBudget) : 'auto',
    },
    provider: draft.provider,
    q4Compute: draft.q4Compute,
    theme: draft.theme,
  };
  const parsed = SettingsPatchSchema.safeParse(candidate);
  if (!parsed.success) collectIssues(parsed.error.issues, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors };
  return { ok: true, value: parsed.data };
}

/** The overrides the draft describes (null when every field is blank), or the field messages. */
export function overridesFromDraft(draft: Readonly<SettingsDraft>): FormResult<ConversationSettings | null> {
  const errors: FieldErrors = {};
  const candidate: { systemPrompt?: string; sampling?: Record<string, unknown>; cache?: Record<string, unknown> } = {};
  if (draft.systemPrompt.trim()) candidate.systemPrompt = draft.systemPrompt;
  const sampling: Record<string, unknown> = {};
  for (const field of SAMPLING_FIELDS) if (draft[field].trim()) sampling[field] = parseNumber(field, draft[field], errors);
  if (draft.seed.trim()) sampling.seed = seedValue(draft.seed, errors);
  if (Object.keys(sampling).length > 0) candidate.sampling = sampling;
  const cache: Record<string, unknown> = {};
  if (draft.sink.trim()) cache.sink = autoOrNumber(draft.sink);
  if (draft.window.trim()) cache.window = autoOrNumber(draft.window);
  if (draft.positions) cache.positions = draft.positions;
  if (draft.pinBudget.trim()) cache.pinBudget = autoOrNumber(draft.pinBudget);
  if (Object.keys(cache).length > 0) candidate.cache = cache;
  const parsed = ConversationSettingsSchema.safeParse(candidate);
  if (!parsed.success) collectIssues(parsed.error.issues, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors };
  return { ok: true, value: Object.keys(candidate).length > 0 ? parsed.data : null };
}
