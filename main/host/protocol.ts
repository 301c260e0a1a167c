// The engine host protocol: seq-numbered requests and replies plus an event stream, between the process
// that owns the host (Electron main, the CLI, tests) and the host itself. Types only: imported everywhere.
import type { AttentionAvailability } from '../../common/attentionView';
import type { ChatMessage, DoneReason } from '../../common/chat';
import type { PositionsMode } from '../../common/cacheGeometry';
import type { CacheFullView, CacheViewEvent } from '../../common/cacheView';
import type { ModelInfo } from '../../common/modelInfo';
import type { CacheSettings, GenerateOptions, Prompt } from '../engine/chatTypes';
import type { ProviderAvailability, ProviderChoice } from '../../common/providers';
import type { Q4Compute } from '../../common/settingsSchema';
import type { GenerationStats } from '../../common/stats';

/** The stream the host holds: its length and the cache geometry it runs with. */
export interface SessionInfo {
  /** Tokens in the stream (fed), the cache geometry and mode actually used. */
  readonly tokens: number;
  readonly sink: number;
  readonly window: number;
  readonly positions: PositionsMode;
  /** The cache settings the stream was started with (a generate with others fails until it is reset). */
  readonly settings: CacheSettings;
}

/**
 * Names one token stream (one conversation's cache) in the host. The host holds any number; the engine's
 * owner in main (services/engineOwner) hands the ids out and bounds how many live at once.
 */
export type StreamId = string;

export interface StreamInfo {
  readonly id: StreamId;
  readonly tokens: number;
  /** K/V bytes its cache holds (0 before its first turn). */
  readonly kvBytes: number;
}

/** Metadata stored with a snapshot in its container file (storage/snapshotFile); the host adds `tokenCount`. */
export interface SnapshotMetaInput {
  /** The app's id of the loaded model: `restore` with another `modelId` refuses the file. */
  readonly modelId: string;
  readonly [key: string]: unknown;
}

/**
 * Names for the cache view protocol (common/cacheView): the conversation a stream belongs to, and the
 * app's id of each message of the prompt passed with it, in order ('' for the system prompt).
 */
export interface ViewLabels {
  readonly stream: string;
  readonly ids: readonly string[];
}

/** Every verb: its arguments and its result. */
export interface HostVerbs {
  load: { args: { dir: string; variant?: string; provider?: ProviderChoice; threads?: number; q4Compute?: Q4Compute }; result: ModelInfo };
  unload: { args: Record<string, never>; result: null };
  /**
   * Runs a turn on stream `stream` (started with `cache` when the host holds no such stream); token/
   * progress events carry this request's seq; `done` ends it. A stream that holds tokens is never
   * replaced: `cache` other than its settings fails with `stream-settings` (reset it first). With `view`,
   * the cache view's ops name the conversation and each token's message (`replyId` for the reply's tokens).
   */
  generate: {
    args: {
      stream: StreamId;
      prompt: Prompt;
      options: GenerateOptions;
      cache: CacheSettings;
      view?: ViewLabels & { readonly replyId: string };
      /**
       * For a client that shows no window (the local server): the stream is quiet from now on: its turns'
       * events go to the owner alone, never to a window's port, and its cache sends no cache view op (the
       * view follows the app's chat stream; a window would paint another conversation).
       */
      quiet?: boolean;
    };
    result: { reason: DoneReason; text: string; stats: GenerationStats; session: SessionInfo };
  };
  /** Stops the generate request with seq `target` at the next token; a no-op when it already ended. */
  cancel: { args: { target: number }; result: null };
  /** Cuts the stream back to `tokens` tokens (exact from the journal, else re-prefilled). */
  rewind: { args: { stream: StreamId; tokens: number }; result: { tokens: number; reprocessedTokens: number } };
  /**
   * Empties stream `stream`. With `view` (the next conversation's id: the app's chat stream moving to
   * another conversation) the cache view announces it as a new, empty stream of that name; without, the
   * host drops it and frees its cache. Either way the next generate on the id starts afresh with its settings.
   */
  reset: { args: { stream: StreamId; view?: string }; result: null };
  /**
   * Makes stream `stream` a new one with `cache` settings on a whole conversation without answering it (its
   * sinks and last W tokens are fed): new settings show at once, not at the next reply.
   */
  rebuild: {
    args: { stream: StreamId; prompt: Extract<Prompt, { kind: 'chat' }>; cache: CacheSettings; view?: ViewLabels };
    result: SessionInfo & { reprocessedTokens: number };
  };
  /** Every stream the host holds, with its size: what the engine's owner shows as memory in use. */
  streams: { args: Record<string, never>; result: readonly StreamInfo[] };
  /**
   * Writes stream `stream` to `path` atomically: with `meta`, as an Ouro snapshot container
   * (storage/snapshotFile: metadata + engine bytes in one file); without, the bare engine bytes.
   */
  snapshot: { args: { stream: StreamId; path: string; meta?: SnapshotMetaInput }; result: { bytes: number; tokens: number } };
  /**
   * Makes stream `stream` continue the one a snapshot file holds (container or bare bytes). With `modelId`,
   * a container written for another model id is refused with `snapshot-mismatch`. With `messages` and
   * `view`, the `restore` op of the cache view names each slot's message.
   */
  restore: { args: { stream: StreamId; path: string; modelId?: string; messages?: readonly ChatMessage[]; view?: ViewLabels }; result: SessionInfo };
  /**
   * Stream `stream`'s cache as of the latest view op (null when it has none); with `messages` (the prompt's,
   * in order) each slot names its message, by `view.ids` when given (which later ops then use too).
   */
  cacheView: { args: { stream: StreamId; messages?: readonly ChatMessage[]; view?: ViewLabels }; result: CacheFullView | null };
  /**
   * Opens the attention view of stream `stream` on `layer` (null: the mean over layers) or closes it
   * (`open: false`): while open, that stream's forward passes fetch their attention and `write` ops of the
   * cache view carry it; other streams (the server's) never pay for it. Answered at
   * once, also while a generate runs (its next step follows). `unavailable` says why the loaded model
   * cannot report attention (fused attention ops), null when it can; `layers` is its layer count.
   * `everyMs`: fetch (and carry) a step's attention at most this often, the steps in between none
   * (default 0: every step, as the CLI prints it; the app's panel asks for ATTENTION_FRAME_MS).
   * `perLayer` false: fetch only the mean over layers (frames then carry no `layerSinkShare` and show the
   * mean whatever `layer` says); default true.
   */
  attention: { args: { stream: StreamId; open: boolean; layer?: number | null; everyMs?: number; perLayer?: boolean }; result: AttentionAvailability };
  /** What generating for `prompt` on the stream would feed, without running anything (the composer's horizon preview). */
  preview: { args: { stream: StreamId; prompt: Prompt; cache: CacheSettings }; result: { draftTokens: number; pushedOut: number } };
  /**
   * Pins the tokens that spell `messages[index]` (the prompt's messages, in order), or its characters
   * `chars`, to stream `stream`'s memory (DESIGN §3 "Pinned memory"). Fails with `pin-refused` (over the
   * budget, already in the sinks, never fed) and changes nothing then.
   */
  pin: {
    args: { stream: StreamId; messages: readonly ChatMessage[]; index: number; chars?: { readonly start: number; readonly end: number } };
    result: { start: number; end: number; reprocessedTokens: number };
  };
  /** Unpins every pinned span of stream `stream` that shares a token with `messages[index]` (or with its characters `chars`). */
  unpin: {
    args: { stream: StreamId; messages: readonly ChatMessage[]; index: number; chars?: { readonly start: number; readonly end: number } };
    result: { unpinned: number };
  };
  /** Execution providers this build of onnxruntime-node offers. */
  providers: { args: Record<string, never>; result: readonly ProviderAvailability[] };
  /**
   * Checks a model folder as a load would, without loading it: the folder's files, then the graph's
   * inputs and outputs in an onnxruntime session that is released at once. Fails with `model/<code>`.
   */
  validate: { args: { dir: string; variant?: string }; result: { onnxFile: string } };
}


export type HostVerb = keyof HostVerbs;
export type HostArgs<V extends HostVerb> = HostVerbs[V]['args'];
export type HostResult<V extends HostVerb> = HostVerbs[V]['result'];

export type HostRequest = {
  [V in HostVerb]: { readonly kind: 'request'; readonly seq: number; readonly verb: V; readonly args: HostArgs<V> };
}[HostVerb];

/** Error codes a caller can act on; ModelError codes pass through as `model/<code>`. */
export type HostErrorCode =
  | 'no-model'
  | 'busy'
  | 'bad-request'
  | 'cancelled'
  | 'stream-settings'
  | 'snapshot-invalid'
  | 'snapshot-mismatch'
  | 'pin-refused'
  | 'internal'
  | `model/${string}`;

export interface HostError {
  readonly code: HostErrorCode;
  readonly message: string;
}

export type HostReply =
  | { readonly kind: 'reply'; readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly kind: 'reply'; readonly seq: number; readonly ok: false; readonly error: HostError };

/**
 * Events of a request, in order; `done` or `error` is the last event of a generate request; `cacheView`
 * events (the cache view protocol) number themselves. While an event port is attached (Electron: a
 * renderer's), token and cacheView events go to the ports only
 * and the owner gets `partial` instead: the text of the tokens since the last one, a few times a
 * second and before `done`/`error`, so it can persist a streaming reply while staying out of the token path.
 */
export type HostEvent =
  | { readonly type: 'partial'; readonly seq: number; readonly text: string }
  | { readonly type: 'token'; readonly seq: number; readonly id: number; readonly text: string; readonly pos: number; readonly slot: number }
  | CacheViewEvent
  | { readonly type: 'progress'; readonly seq: number; readonly phase: 'load' | 'prefill'; readonly done: number; readonly total: number }
  | { readonly type: 'stats'; readonly seq: number; readonly stats: GenerationStats }
  | { readonly type: 'done'; readonly seq: number; readonly reason: DoneReason; readonly stats: GenerationStats }
  | { readonly type: 'error'; readonly seq: number; readonly error: HostError };

export type HostOutbound = HostReply | { readonly kind: 'event'; readonly event: HostEvent };
/**
 * Owner to host, before the owner terminates a worker: cancel every generate, refuse every later
 * request, wait until no request runs (so no native onnxruntime call is in flight), release the model,
 * then answer {@link HostStopped}. Terminating a worker inside `session.run` or a load aborts the whole
 * process (`terminate called after throwing an instance of 'Napi::Error'`).
 */
export interface HostShutdown {
  readonly kind: 'shutdown';
}

/** Host to owner: the answer to {@link HostShutdown}; the host is idle and may be terminated. */
export interface HostStopped {
  readonly kind: 'stopped';
}

/** `attachEventPort` carries its port in the transfer list (Electron); worker transports also put it in `ports`. */
export type HostInbound = HostRequest | HostShutdown | { readonly kind: 'attachEventPort'; readonly ports?: readonly unknown[] };
