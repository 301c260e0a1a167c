// THE contract between the renderer and main: every verb with its argument schema (zod) and result type,
// and the event union. Imported by main (handlers validate with it), preload (exposes it) and the
// renderer (calls it); pure types and zod, no Node or Electron imports.
import type { ModelSummary, WeightFormat } from './modelSummary';
import type { DownloadErrorCode, DownloadFailure } from './downloadTypes';
import type { ModelInfo } from './modelInfo';
import type { AttentionAvailability } from './attentionView';
import type { CacheFullView, CacheHeader, CacheRow, CacheViewEvent, CacheViewOp, CacheViewWithText, SlotOwners } from './cacheView';
import type { DoneReason } from './chat';
import { z } from 'zod';
import type { GenerationStats } from './stats';
import type { CatalogEntry, CatalogVariant } from './catalogSchema';
import type { DownloadEvent, DownloadPhase, DownloadSnapshot } from './downloadTypes';
import type { AppCommand } from './shortcuts';
import {
  CharSpanSchema,
  ConversationIdSchema,
  MessageIdSchema,
  TitleSchema,
  type Conversation,
  type ConversationSummary,
  type CharSpan,
  type Message,
  type Pin,
} from './conversationSchema';
import { ConversationSettingsSchema, SettingsPatchSchema, type AppSettings } from './settingsSchema';

export type { CacheFullView, CacheHeader, CacheRow, CacheViewEvent, CacheViewOp, CacheViewWithText, SlotOwners, CharSpan, Conversation, ConversationSummary, DoneReason, GenerationStats, Message, ModelInfo };
export type { AppSettings };
export type { DownloadErrorCode, DownloadEvent, DownloadFailure, DownloadPhase, DownloadSnapshot, ModelSummary, WeightFormat };

const empty = z.object({}).strict();
const conversationRef = z.object({ conversationId: ConversationIdSchema }).strict();
const modelId = z.string().min(1).max(256);
/** A download's id is its folder name under the models folder (`<catalog id>-<variant id>`). */
const downloadId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\w-][\w.-]*$/, 'a download id is a folder name: letters, digits, ".", "_" and "-", not starting with "."');
const messageText = z.string().min(1, 'a message is not empty').max(1_000_000, 'a message is at most 1,000,000 characters');

/** A model the app knows: imported from a folder (by reference) or downloaded into the models folder. */
export interface InstalledModel {
  readonly id: string;
  readonly name: string;
  readonly dir: string;
  /** `demo`: the small model that comes with Ouro (never deleted, can be hidden). */
  readonly source: 'imported' | 'downloaded' | 'demo';
  /** What the model is for, in a line (the demo's). */
  readonly note?: string;
  /** A hidden demo: listed on the Models page to show again, left out of the model picker. */
  readonly hidden?: boolean;
  /** Set when the folder no longer validates (moved, deleted, damaged): the engine's specific error. */
  readonly problem?: string;
}

/** One variant of a catalog model as the Models page shows it. */
export type CatalogModelVariant = Readonly<Omit<CatalogVariant, 'files'>> & {
  /** The download (and folder) id of this variant: `downloads.*` verbs and `download` events use it. */
  readonly downloadId: string;
  /** The InstalledModel id it has once downloaded. */
  readonly modelId: string;
  readonly fileCount: number;
};

/** A curated catalog entry (models/catalog.json) as the Models page shows it. */
export type CatalogModel = Readonly<Omit<CatalogEntry, 'variants'>> & { readonly variants: readonly CatalogModelVariant[] };

/** The curated catalog: entries and the date they were last checked against the Hub. */
export interface CatalogListing {
  readonly updated: string;
  readonly models: readonly CatalogModel[];
}

/** `models.inspect`: the registry entry and the folder's summary (shape, parameters, KV per 1K tokens, provenance). */
export interface ModelDetails {
  readonly model: InstalledModel;
  readonly summary: ModelSummary;
}

export interface AppInfo {
  readonly version: string;
  readonly dataDir: string;
  readonly providers: readonly { name: string; available: boolean; reason?: string }[];
  readonly platform: string;
}

/**
 * A file storage could not read and replaced with defaults (settings.json, models.json): what the user
 * lost and where the damaged file was kept. It usually happens at start, before any window or socket
 * listens, so main keeps it until the user dismisses it (verbs `repairs.*`).
 */
export interface StorageRepair {
  /** The file that could not be read. */
  readonly file: string;
  /** Where the damaged file was kept (renamed aside); null when nothing was kept (one invalid setting). */
  readonly keptAs: string | null;
  /** What was lost, in words: "the system prompt", "the imported model folder /models/x". */
  readonly lost: readonly string[];
  readonly message: string;
}

/** A repair as main keeps it until the user dismisses it. */
export interface Repair extends StorageRepair {
  readonly id: string;
  /** When it was repaired (ms since the epoch). */
  readonly at: number;
}

/** A reply that has started streaming: events with this seq belong to `replyId`. */
export interface StreamStart {
  readonly seq: number;
  readonly conversationId: string;
  /** The user message just stored (absent for regenerate). */
  readonly userMessage?: Message;
  readonly reply: Message;
}

/** What sending `draft` now would do to the model's view (the composer's horizon preview). */
export interface SendPreview {
  readonly draftTokens: number;
  /** Earlier tokens that would leave the model's window. */
  readonly pushedOut: number;
}

/** The local OpenAI-compatible server as Settings → Local server shows it. */
export interface LocalServerStatus {
  /** `error`: it should run but could not start (the port is taken, a key is missing, ...). */
  readonly state: 'off' | 'on' | 'error';
  /** The base URL an OpenAI client takes (`http://127.0.0.1:8080/v1`) while on. */
  readonly url: string | null;
  readonly error: string | null;
  /** Requests being answered now (generating or waiting). */
  readonly active: number;
  /** Requests answered since it started. */
  readonly served: number;
  /** Conversations it keeps cached, and the K/V bytes their caches hold. */
  readonly streams: number;
  readonly kvBytes: number;
}

/** Every verb: argument schema and result type. Args are validated in main before any handler runs. */
export const verbs = {
  'app.info': { args: empty, result: {} as AppInfo },
  'settings.get': { args: empty, result: {} as AppSettings },
  'settings.update': { args: z.object({ patch: SettingsPatchSchema }).strict(), result: {} as AppSettings },

  /** Files repaired on their own (corrupt settings.json, models.json): what was lost, where the damaged file is. */
  'repairs.list': { args: empty, result: {} as readonly Repair[] },
  /** The user has read a repair: main forgets it (a `repairs` event follows). */
  'repairs.dismiss': { args: z.object({ id: z.string().min(1).max(64) }).strict(), result: null },

  'models.list': { args: empty, result: {} as readonly InstalledModel[] },
  /**
   * Validates a folder fully (the engine's ModelFolder, then the graph's inputs and outputs in the engine
   * host) and adds it: `reference` (default) remembers where it is, `copy` copies the needed files into
   * Ouro's models folder. Errors name the file and the problem (`model-invalid`, detail: the engine code).
   */
  'models.import': {
    args: z.object({ dir: z.string().min(1).max(4096), mode: z.enum(['copy', 'reference']).optional() }).strict(),
    result: {} as InstalledModel,
  },
  /**
   * Downloaded or copied models: deletes the folder. Imported by reference: forgets it, the folder stays.
   * The demo model is never deleted (`bad-request`): hide it with `models.setHidden`.
   */
  'models.remove': { args: z.object({ id: modelId }).strict(), result: null },
  /** Hides or shows the demo model (the only one that can be hidden). */
  'models.setHidden': { args: z.object({ id: modelId, hidden: z.boolean() }).strict(), result: null },
  /** Loads a model into the engine host (progress events with phase 'load'). */
  'models.load': { args: z.object({ id: modelId }).strict(), result: {} as ModelInfo },
  'models.current': { args: empty, result: {} as ModelInfo | null },
  /** A model's config summary, parameter count and KV bytes per 1K tokens (file-level checks only). */
  'models.inspect': { args: z.object({ id: modelId }).strict(), result: {} as ModelDetails },

  /** The curated catalog of downloadable models. */
  'catalog.list': { args: empty, result: {} as CatalogListing },
  /**
   * Starts (or resumes, when its partial files are on disk) downloading a catalog model's variant
   * (default: the entry's default variant). Progress, the end and any error arrive as `download` events.
   */
  'downloads.start': {
    args: z.object({ catalogId: z.string().min(1).max(200), variant: z.string().min(1).max(64).optional() }).strict(),
    result: {} as DownloadSnapshot,
  },
  /** Stops a running download; what arrived stays on disk for `downloads.resume`. */
  'downloads.cancel': { args: z.object({ id: downloadId }).strict(), result: null },
  /** Continues an unfinished download from the bytes on disk (after a cancel, a failure or a restart). */
  'downloads.resume': { args: z.object({ id: downloadId }).strict(), result: {} as DownloadSnapshot },
  /** Cancels a download if it runs and deletes its partial files. */
  'downloads.discard': { args: z.object({ id: downloadId }).strict(), result: null },
  /** Running downloads, then unfinished ones on disk (`paused`, or how they ended in this session). */
  'downloads.list': { args: empty, result: {} as readonly DownloadSnapshot[] },

  'conversations.list': { args: empty, result: {} as readonly ConversationSummary[] },
  'conversations.search': {
    args: z.object({ query: z.string().max(1000) }).strict(),
    result: {} as readonly { conversationId: string; title: string; snippet: string }[],
  },
  'conversations.create': { args: z.object({ title: TitleSchema.optional() }).strict(), result: {} as Conversation },
  /**
   * Loads a conversation; `notice` says when its context had to be rebuilt (no snapshot, another model).
   * A damaged file opens read-only: the messages before the damage, and `readOnly` saying where and why.
   */
  'conversations.open': { args: conversationRef, result: {} as { conversation: Conversation; notice?: string; readOnly?: string } },
  'conversations.rename': {
    args: z.object({ conversationId: ConversationIdSchema, title: TitleSchema.min(1, 'a title is not empty') }).strict(),
    result: null,
  },
  'conversations.delete': { args: conversationRef, result: null },
  'conversations.updateSettings': {
    args: z.object({ conversationId: ConversationIdSchema, settings: ConversationSettingsSchema.nullable() }).strict(),
    result: null,
  },
  /** The conversation as a file; of a damaged one, the messages before the damage. */
  'conversations.export': {
    args: z.object({ conversationId: ConversationIdSchema, format: z.enum(['markdown', 'json']) }).strict(),
    result: {} as { fileName: string; content: string },
  },

  /** Stores the user message and starts the reply; the tokens arrive as events. */
  'chat.send': { args: z.object({ conversationId: ConversationIdSchema, content: messageText }).strict(), result: {} as StreamStart },
  /** Replaces the last reply with a new one (same prompt, exact rewind of the cache). */
  'chat.regenerate': { args: conversationRef, result: {} as StreamStart },
  /** Replaces a user message, drops everything after it and answers again. */
  'chat.edit': {
    args: z.object({ conversationId: ConversationIdSchema, messageId: MessageIdSchema, content: messageText }).strict(),
    result: {} as StreamStart,
  },
  /**
   * Shows another version of the last reply (one a regenerate kept): the conversation as it is now, and
   * the tokens the engine fed again to follow it (its context is rebuilt on the thread).
   */
  'chat.showVersion': {
    args: z.object({ conversationId: ConversationIdSchema, messageId: MessageIdSchema }).strict(),
    result: {} as { conversation: Conversation; reprocessedTokens: number },
  },
  'chat.stop': { args: conversationRef, result: null },
  /**
   * Pins a message, or characters `chars` of its source text, to the model's memory (its tokens stay
   * visible for the rest of the conversation, up to the pin budget) or unpins it; stored with the
   * conversation. Unpinning with `chars` drops the pinned span `chars`; without, every pin of the message.
   * `reprocessedTokens`: tokens fed again because the text had left the model's window.
   */
  'chat.pin': {
    args: z.object({ conversationId: ConversationIdSchema, messageId: MessageIdSchema, pinned: z.boolean(), chars: CharSpanSchema.optional() }).strict(),
    result: {} as { pins: Pin[]; reprocessedTokens: number },
  },
  'chat.preview': {
    args: z.object({ conversationId: ConversationIdSchema, draft: z.string().max(1_000_000) }).strict(),
    result: {} as SendPreview,
  },
  /** The local server's state (it starts and stops with the `server` settings). */
  'server.status': { args: empty, result: {} as LocalServerStatus },
  /**
   * The engine's cache as of view op `seq` (the cache view protocol's full view, asked for on open and
   * after a gap). With the open conversation's id, the engine's stream moves to it first and each slot
   * also names its message (`owners`; '' is the system prompt).
   */
  'cache.view': {
    args: z.object({ conversationId: ConversationIdSchema.optional() }).strict(),
    result: {} as CacheFullView | null,
  },
  /**
   * Opens the cache panel's Attention mode on `layer` (0-based; null or absent: the mean over layers), or
   * closes it: while open, the engine fetches each step's attention and the cache view's write ops carry
   * it. Null when no model is loaded; `unavailable` says why a model cannot report attention.
   */
  'cache.attention': {
    args: z.object({ open: z.boolean(), layer: z.number().int().min(0).max(4095).nullable().optional() }).strict(),
    result: {} as AttentionAvailability | null,
  },
} as const;

export type Verb = keyof typeof verbs;
export type VerbArgs<V extends Verb> = z.input<(typeof verbs)[V]['args']>;
export type VerbResult<V extends Verb> = (typeof verbs)[V]['result'];

/** Error codes the renderer can act on. */
export type ApiErrorCode = 'bad-request' | 'forbidden' | 'not-found' | 'busy' | 'no-model' | 'model-invalid' | 'storage' | 'internal';

/** The error every verb rejects with (serialisable; crosses IPC and the test transport alike). */
export interface ApiError {
  readonly code: ApiErrorCode;
  readonly message: string;
  /** For model errors: the engine's code (e.g. `missing-file`) and the file it names. */
  readonly detail?: string;
}

/** Events main and the engine host push to the renderer. Token-rate events come straight from the host. */
export type AppEvent =
  | { readonly type: 'token'; readonly seq: number; readonly id: number; readonly text: string; readonly pos: number; readonly slot: number }
  /** The cache view protocol (common/cacheView): one numbered change of the engine's cache. */
  | CacheViewEvent
  | { readonly type: 'progress'; readonly seq: number; readonly phase: 'load' | 'prefill'; readonly done: number; readonly total: number }
  | { readonly type: 'done'; readonly seq: number; readonly reason: DoneReason; readonly stats: GenerationStats }
  | { readonly type: 'error'; readonly seq: number; readonly error: { readonly code: string; readonly message: string } }
  | { readonly type: 'message'; readonly conversationId: string; readonly message: Message }
  | { readonly type: 'conversations'; readonly conversations: readonly ConversationSummary[] }
  | { readonly type: 'models'; readonly models: readonly InstalledModel[]; readonly current: ModelInfo | null }
  /** `hfToken` is null or SAVED_TOKEN_MASK here: the token itself never leaves main. */
  | { readonly type: 'settings'; readonly settings: AppSettings }
  /** A model download's phase change, progress (a few per second) or retry; `models` follows an install. */
  | { readonly type: 'download'; readonly event: DownloadEvent }
  | { readonly type: 'notice'; readonly level: 'info' | 'warning' | 'error'; readonly text: string }
  /** The repairs not yet dismissed, whenever that list changes. */
  | { readonly type: 'repairs'; readonly repairs: readonly Repair[] }
  /** The local server started, stopped, failed, or began or ended a request. */
  | { readonly type: 'server'; readonly status: LocalServerStatus }
  /** A native menu item or shortcut the renderer acts on. */
  | { readonly type: 'command'; readonly command: AppCommand };

/** What the renderer sees as `window.ouro`: one call per verb plus the event stream. */
export interface OuroApi {
  invoke<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>>;
  /** Subscribes to every event; returns the unsubscribe function. */
  subscribe(listener: (event: AppEvent) => void): () => void;
  /**
   * The OS's native folder dialog titled `title`: the chosen folder, or null when cancelled. Only the
   * desktop app has one; in a browser it is absent and a path is typed instead.
   */
  pickFolder?(title: string): Promise<string | null>;
}

/** What a verb answers across a process boundary (IPC, the browser transport): a result or an ApiError, never a throw. */
export type ApiReply<T = unknown> = { readonly ok: true; readonly result: T } | { readonly ok: false; readonly error: ApiError };

/** The WebSocket path of the browser transport (main/web/bridgeServer): `ws(s)://<host>/ouro`. */
export const BRIDGE_PATH = '/ouro';

/**
 * Browser transport: every connection's first frame carries the per-launch key (`npm run web` prints it
 * in the page address as `#key=…`); anything else first, or a wrong key, closes the socket with
 * {@link BRIDGE_CLOSE_UNAUTHORIZED} after a `forbidden` error frame.
 */
export interface BridgeHello {
  readonly key: string;
}

/** The page address's fragment parameter that carries the bridge key (a fragment never reaches a server). */
export const BRIDGE_KEY_PARAM = 'key';

/** WebSocket close code for a connection without the right key (4000-4999: application-defined). */
export const BRIDGE_CLOSE_UNAUTHORIZED = 4401;

/** Browser transport, client → server: one verb call; `id` comes back on its reply. */
export interface BridgeRequest {
  readonly id: number | string;
  readonly verb: string;
  readonly args?: unknown;
}

/** Browser transport, server → client: the reply to request `id` (null when the frame could not be read), or an event. */
export type BridgeFrame = ({ readonly id: number | string | null } & ApiReply) | { readonly event: AppEvent };

/** Validates a verb name and its arguments; returns a typed error instead of throwing. */
export function parseRequest(
  verb: unknown,
  args: unknown,
): { ok: true; verb: Verb; args: unknown } | { ok: false; error: ApiError } {
  if (typeof verb !== 'string' || !Object.hasOwn(verbs, verb)) {
    return { ok: false, error: { code: 'bad-request', message: `unknown verb ${JSON.stringify(verb)?.slice(0, 80)}` } };
  }
  const parsed = verbs[verb as Verb].args.safeParse(args ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, error: { code: 'bad-request', message: `${verb}: ${where}${issue.message}` } };
  }
  return { ok: true, verb: verb as Verb, args: parsed.data };
}

/** True for values shaped like an ApiError (errors cross process boundaries as plain objects). */
export function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && typeof (value as ApiError).code === 'string' && typeof (value as ApiError).message === 'string';
}
