// EngineHost: owns the loaded model and its token streams (chat sessions keyed by id) and answers protocol
// requests; the cache view feed follows the streams that are not quiet (the app's chat stream). Runs in the
// engine host thread (a worker_threads Worker or an Electron utility process); transport-agnostic.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kvElementBytes } from '../engine/cache/kvStorage';
import { PinError } from '../engine/cache/sinkRingCache';
import { ChatSession } from '../engine/chatSession';
import { sameCacheSettings, type CacheSettings } from '../engine/chatTypes';
import { ModelError } from '../engine/errors';
import { loadModel, type LoadedModel } from '../engine/loadedModel';
import { inspectModelIO, loadModelFolder } from '../engine/modelFolder';
import { q4ComputeOf } from '../engine/model/matMulNBitsAccuracy';
import { availableProviders, openSession } from '../engine/onnxSession';
import { writeFileAtomic } from '../storage/atomicFile';
import { readSnapshotFile, writeSnapshotFile } from '../storage/snapshotFile';
import type { ModelInfo } from '../../common/modelInfo';
import type {
  HostArgs,
  HostError,
  HostEvent,
  HostRequest,
  HostResult,
  HostVerb,
  SessionInfo,
  StreamId,
} from './protocol';
import { decodeSessionSnapshot, encodeSessionSnapshot, SnapshotError } from '../engine/sessionSnapshot';
import { CacheViewFeed } from './cacheViewFeed';

/** Thrown by handlers for errors with a protocol code. */
export class HostFailure extends Error {
  constructor(readonly error: HostError) {
    super(error.message);
  }
}

type Handlers = { [V in HostVerb]: (args: HostArgs<V>, seq: number) => Promise<HostResult<V>> };

/**
 * Answers requests one at a time except `cancel`, which must get through while a generate runs (the
 * runner yields to the event loop between forward passes so it can). Emits events through `emit`.
 */
export class EngineHost {
  private model: LoadedModel | null = null;
  private unreportedLoadMs = 0;
  /** Every token stream by id; each owns its cache (the model is shared). */
  private readonly streams = new Map<StreamId, ChatSession>();
  /** Streams whose last turn was quiet (the local server's): the cache view feed ignores them. */
  private readonly quiet = new Set<StreamId>();
  private readonly cancelled = new Set<number>();
  /** Generate requests received and not yet ended, so a cancel may arrive before its turn comes. */
  private readonly pending = new Set<number>();
  private queue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | null = null;
  private readonly view: CacheViewFeed;
  /** The stream whose attention view is open (the app's chat stream while its panel shows it), or null. */
  private attentionStream: StreamId | null = null;
  /** How that stream fetches its attention (the `attention` verb's `everyMs` and `perLayer`). */
  private attentionFetch = { everyMs: 0, perLayer: true };

  /** `emit` sends an event; `ownerOnly` keeps it off windows' ports (a quiet stream's events). */
  constructor(private readonly emit: (event: HostEvent, ownerOnly?: boolean) => void) {
    this.view = new CacheViewFeed(emit, () => this.model?.tokenizer ?? null);
  }

  /**
   * Cancels every generate at its next token, refuses every request not yet started, and resolves
   * once the request running now has returned and the model is released: no native call is in flight
   * after it, so the owner may terminate the thread (see protocol's HostShutdown).
   */
  shutdown(): Promise<void> {
    for (const seq of this.pending) this.cancelled.add(seq);
    this.stopping ??= this.serialised(() => this.unloadModel());
    return this.stopping;
  }

  /** Runs a request and returns its reply payload; never throws. */
  async handle(request: HostRequest): Promise<{ ok: true; result: unknown } | { ok: false; error: HostError }> {
    const run = async () => {
      if (this.stopping) throw new HostFailure({ code: 'internal', message: 'the engine host is shutting down' });
      const handler = this.handlers[request.verb] as (args: unknown, seq: number) => Promise<unknown>;
      if (!handler) throw new HostFailure({ code: 'bad-request', message: `unknown verb '${String(request.verb)}'` });
      return handler(request.args ?? {}, request.seq);
    };
    try {
      if (request.verb === 'generate' && !this.stopping) this.pending.add(request.seq);
      // cancel and attention only set flags the running request reads at its next step.
      const result = request.verb === 'cancel' || request.verb === 'attention' ? await run() : await this.serialised(run);
      return { ok: true, result };
    } catch (err) {
      return { ok: false, error: toHostError(err) };
    } finally {
      if (request.verb === 'generate') {
        this.pending.delete(request.seq);
        this.cancelled.delete(request.seq);
      }
    }
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private readonly handlers: Handlers = {
    load: async (args, seq) => {
      await this.unloadModel();
      this.emit({ type: 'progress', seq, phase: 'load', done: 0, total: 1 });
      const model = await loadModel(args.dir, { variant: args.variant, provider: args.provider, threads: args.threads, q4Compute: args.q4Compute });
      this.model = model;
      this.unreportedLoadMs = model.loadMs;
      this.emit({ type: 'progress', seq, phase: 'load', done: 1, total: 1 });
      return modelInfo(model);
    },
    unload: async () => {
      await this.unloadModel();
      return null;
    },
    generate: async (args, seq) => {
      const model = this.requireModel();
      const session = this.streamFor(model, args.stream, args.cache);
      const quiet = args.quiet === true;
      if (quiet) this.quiet.add(args.stream);
      else this.quiet.delete(args.stream);
      const emit = (event: HostEvent) => this.emit(event, quiet);
      const cancelled = this.cancelled;
      const cancel = {
        get cancelled() {
          return cancelled.has(seq);
        },
      };
      const { prompt, view } = args;
      // A quiet stream's cache is no window's business: the view feed never hears of it.
      const { onToken, end, ...viewHooks } = quiet
        ? { onToken: () => undefined, end: () => undefined }
        : this.view.turn(session, prompt.kind === 'chat' ? prompt.messages : null, view, view?.replyId ?? null);
      try {
        const result = await session.generate(prompt, args.options, {
          cancel,
          ...viewHooks,
          onToken: (t) => {
            onToken();
            emit({ type: 'token', seq, ...t });
          },
          onPrefillProgress: (done, total) => emit({ type: 'progress', seq, phase: 'prefill', done, total }),
          onStats: (stats) => emit({ type: 'stats', seq, stats: { ...stats } }),
        });
        // The first reply after a load reports the load time, so a cold start shows where time went.
        result.stats.loadMs = this.unreportedLoadMs;
        this.unreportedLoadMs = 0;
        end(result.text);
        emit({ type: 'done', seq, reason: result.reason, stats: result.stats });
        // Next in the queue, after the done event (the user has the reply; the request's own answer waits
        // one step per shape): the decode shapes this stream can reach that the load did not warm, once
        // per shape and loaded model. A failure here would show again, and be reported, in the next step.
        if (!this.stopping) void this.serialised(() => session.warmDecodeShapes()).catch(() => undefined);
        return { ...result, session: this.sessionInfo(session) };
      } catch (err) {
        emit({ type: 'error', seq, error: toHostError(err) });
        throw err;
      }
    },
    cancel: async ({ target }) => {
      if (this.pending.has(target)) this.cancelled.add(target);
      return null;
    },
    rewind: async ({ stream, tokens }) => {
      const session = this.requireStream(stream);
      const reprocessedTokens = await session.rewind(tokens, this.quiet.has(stream) ? {} : this.view.follow(session));
      return { tokens: session.tokenCount, reprocessedTokens };
    },
    reset: async ({ stream, view }) => {
      const held = this.streams.get(stream);
      if (view === undefined) {
        this.dropStream(stream);
        return null;
      }
      // The app's chat stream moving to another conversation: kept (emptied), so the view can show its geometry.
      held?.reset();
      this.view.emptied(held ?? null, view);
      return null;
    },
    rebuild: async ({ stream, prompt, cache, view }) => {
      const model = this.requireModel();
      const session = this.hold(stream, new ChatSession(model, cache));
      this.quiet.delete(stream);
      const { onToken: _decodes, end, ...hooks } = this.view.turn(session, prompt.messages, view, null);
      const reprocessedTokens = (await session.rebuild(prompt.messages, hooks)) ?? 0;
      end(null);
      return { ...this.sessionInfo(session), reprocessedTokens };
    },
    streams: async () =>
      [...this.streams].map(([id, session]) => ({ id, tokens: session.tokenCount, kvBytes: session.kvCache?.kvBytes() ?? 0 })),
    snapshot: async ({ stream, path: file, meta }) => {
      const model = this.requireModel();
      const session = this.requireStream(stream);
      const bytes = encodeSessionSnapshot(model, await session.snapshot());
      if (meta) await writeSnapshotFile(file, bytes, { ...meta, tokenCount: session.tokenCount });
      else await writeFileAtomic(file, bytes);
      return { bytes: bytes.byteLength, tokens: session.tokenCount };
    },
    restore: async ({ stream, path: file, modelId, messages, view }) => {
      const model = this.requireModel();
      const state = decodeSessionSnapshot(model, await readSnapshotBytes(file, modelId));
      const session = this.hold(stream, ChatSession.fromSnapshot(model, state));
      this.quiet.delete(stream);
      this.view.restored(session, messages, view);
      return this.sessionInfo(session);
    },
    attention: async ({ stream, open, layer, everyMs, perLayer }) => {
      const model = this.requireModel();
      if (layer !== undefined && layer !== null && !(Number.isInteger(layer) && layer >= 0 && layer < model.config.numLayers)) {
        throw new HostFailure({ code: 'bad-request', message: `layer ${layer} is outside 0..${model.config.numLayers - 1}` });
      }
      const previous = this.attentionStream;
      this.attentionStream = open ? stream : previous === stream ? null : previous;
      if (open) this.attentionFetch = { everyMs: everyMs ?? 0, perLayer: perLayer ?? true };
      for (const id of new Set([previous, stream])) {
        const held = id === null ? undefined : this.streams.get(id);
        if (id !== null && held) this.applyAttention(id, held);
      }
      this.view.showAttention(this.attentionStream === null ? undefined : (layer ?? null));
      const fast = model.session.fastOutputs;
      return { layers: model.config.numLayers, unavailable: fast?.attention ? null : (fast?.attentionNote ?? model.session.fastOutputsNote ?? 'no attention outputs') };
    },
    preview: async ({ stream, prompt, cache }) => {
      const model = this.requireModel();
      const held = this.streams.get(stream);
      // A stream with other settings would be reset before its next turn: preview that fresh start.
      const session = held && sameCacheSettings(held.settings, cache) ? held : new ChatSession(model, cache);
      return session.preview(prompt);
    },
    pin: async ({ stream, messages, index, chars }) => {
      const session = this.requireStream(stream);
      const contents = messages.map((m) => m.content);
      const pinned = await session.pin(contents, index, chars ?? null).catch((err: unknown) => {
        throw err instanceof PinError ? new HostFailure({ code: 'pin-refused', message: err.message }) : err;
      });
      if (pinned === null) throw new HostFailure({ code: 'cancelled', message: 'pinning was cancelled' });
      if (!this.quiet.has(stream)) this.view.pinsChanged(session);
      return pinned;
    },
    unpin: async ({ stream, messages, index, chars }) => {
      const session = this.requireStream(stream);
      const contents = messages.map((m) => m.content);
      const unpinned = await session.unpin(contents, index, chars ?? null).catch((err: unknown) => {
        throw err instanceof PinError ? new HostFailure({ code: 'pin-refused', message: err.message }) : err;
      });
      if (unpinned > 0 && !this.quiet.has(stream)) this.view.pinsChanged(session);
      return { unpinned };
    },
    providers: async () => availableProviders(),
    validate: async ({ dir, variant }) => {
      const folder = await loadModelFolder(dir, { variant });
      // CPU on purpose: only the graph's interface is read, and the loaded model keeps its provider.
      const session = await openSession(folder.onnxPath, { provider: 'cpu' });
      try {
        inspectModelIO(folder, session);
      } finally {
        await session.release();
      }
      return { onnxFile: folder.onnxFile };
    },
    cacheView: async ({ stream, messages, view }) =>
      this.model && !this.quiet.has(stream) ? this.view.view(this.streams.get(stream) ?? null, messages, view) : null,
  };

  /**
   * The stream `id`, started with `settings` when the host holds none. A stream that holds tokens is never
   * swapped for a new one behind its owner's back: other settings are an error the owner resolves.
   */
  private streamFor(model: LoadedModel, id: StreamId, settings: CacheSettings): ChatSession {
    const held = this.streams.get(id);
    if (held && sameCacheSettings(held.settings, settings)) return held;
    if (held && held.tokenCount > 0) {
      throw new HostFailure({
        code: 'stream-settings',
        message: `stream ${id} holds ${held.tokenCount} tokens under other cache settings; reset it before changing them`,
      });
    }
    return this.hold(id, new ChatSession(model, settings));
  }

  /** Stream `id`'s session fetches attention as its view asks (open or not, how often, which rows). */
  private applyAttention(id: StreamId, session: ChatSession): void {
    session.attention = id === this.attentionStream;
    session.attentionEveryMs = this.attentionFetch.everyMs;
    session.attentionLayers = this.attentionFetch.perLayer;
  }

  /** Makes `session` stream `id`, fetching attention when its view is open; frees the device memory of the one it replaces. */
  private hold(id: StreamId, session: ChatSession): ChatSession {
    this.applyAttention(id, session);
    const held = this.streams.get(id);
    if (held !== session) held?.dispose();
    this.streams.set(id, session);
    return session;
  }

  private sessionInfo(session: ChatSession): SessionInfo {
    const cache = session.kvCache;
    return {
      tokens: session.tokenCount,
      sink: cache?.sink ?? 0,
      window: cache?.window ?? 0,
      positions: cache?.positions ?? 'cache',
      settings: session.settings,
    };
  }

  private requireModel(): LoadedModel {
    if (!this.model) throw new HostFailure({ code: 'no-model', message: 'no model is loaded; open a model folder first' });
    return this.model;
  }

  private requireStream(id: StreamId): ChatSession {
    this.requireModel();
    const session = this.streams.get(id);
    if (!session) throw new HostFailure({ code: 'bad-request', message: `no stream ${id} is held` });
    return session;
  }

  private dropStream(id: StreamId): void {
    this.streams.get(id)?.dispose();
    this.streams.delete(id);
    this.quiet.delete(id);
  }

  private async unloadModel(): Promise<void> {
    for (const session of this.streams.values()) session.dispose();
    this.streams.clear();
    this.quiet.clear();
    const model = this.model;
    this.model = null;
    await model?.release();
  }
}

function modelInfo(model: LoadedModel): ModelInfo {
  const { config, folder } = model;
  const generationDefaults: Record<string, number | boolean> = {};
  for (const [k, v] of Object.entries(folder.generation)) {
    if (typeof v === 'number' || typeof v === 'boolean') generationDefaults[k] = v;
  }
  return {
    dir: folder.dir,
    name: path.basename(folder.dir),
    variant: folder.variant,
    modelType: config.modelType,
    layers: config.numLayers,
    kvHeads: config.numKvHeads,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    maxPositions: config.maxPositionEmbeddings,
    maxPos: config.maxPos,
    kvBytesPerToken: config.numLayers * 2 * config.numKvHeads * config.headDim * kvElementBytes(model.io.kvDtype),
    provider: model.session.provider,
    providerNote: model.session.providerNote,
    q4Compute: q4ComputeOf(model.session.matMulNBitsAccuracy),
    hasChatTemplate: model.template !== null,
    ropeProbe: model.ropeProbe,
    warnings: model.warnings,
    loadMs: model.loadMs,
    eosTokenIds: [...model.eosTokenIds],
    generationDefaults,
  };
}

/** The engine bytes of a snapshot file: a container's payload (its model id checked) or a bare file as is. */
async function readSnapshotBytes(file: string, modelId: string | undefined): Promise<Uint8Array> {
  const cannotRead = (err: NodeJS.ErrnoException): never => {
    throw new HostFailure({ code: 'snapshot-invalid', message: `cannot read snapshot ${file}: ${err.code ?? err.message}` });
  };
  const container = await readSnapshotFile(file).catch(cannotRead);
  if (container.kind === 'absent') throw new HostFailure({ code: 'snapshot-invalid', message: `cannot read snapshot ${file}: ENOENT` });
  if (container.kind === 'ok') {
    if (modelId !== undefined && container.snapshot.meta.modelId !== modelId) {
      throw new HostFailure({ code: 'snapshot-mismatch', message: 'this conversation was saved with another model; its context will be rebuilt' });
    }
    return container.snapshot.bytes;
  }
  // Not a container: a bare snapshot (or garbage, which decoding rejects with its reason).
  const bytes = await readFile(file).catch(cannotRead);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function toHostError(err: unknown): HostError {
  if (err instanceof HostFailure) return err.error;
  if (err instanceof ModelError) return { code: `model/${err.code}`, message: err.message };
  if (err instanceof SnapshotError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}
