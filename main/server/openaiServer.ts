// The local OpenAI-compatible HTTP server: /v1/models, /v1/chat/completions (SSE streaming too) and
// /v1/completions on the engine's ring cache. Each chat request continues the cached stream that holds its
// beginning, so a client resending its whole conversation pays only for the new messages. A client of the
// EngineOwner like the app's chats. Runs in main (the app) or in `npm run serve` (plain Node).
import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatMessage } from '../../common/chat';
import type { ModelInfo } from '../../common/modelInfo';
import type { CacheSettings } from '../engine/chatTypes';
import type { GenerationStats } from '../../common/stats';
import { HostRequestError } from '../host/engineHostClient';
import type { HostEvent, HostResult, StreamId } from '../host/protocol';
import { EngineBusyError, type EngineOwner } from '../services/engineOwner';
import { OpenAIError, parseChatRequest, parseCompletionRequest, type ParsedRequest } from './openaiRequests';
import { StreamCache, type StreamMatch } from './streamCache';

/** What the server needs from its process: the engine's owner, the model it serves, the cache settings of new streams. */
export interface ServerEngine {
  readonly owner: EngineOwner;
  /** The model requests run on, loaded; throws (a user-facing message) when there is none. */
  model(): Promise<{ readonly id: string; readonly info: ModelInfo }>;
  /** Cache settings for a new stream (a held stream under other settings is reset first by the owner). */
  cache(): CacheSettings;
}

export interface OpenAIServerOptions {
  readonly engine: ServerEngine;
  /** Interface to bind; default 127.0.0.1. Anything but loopback requires `apiKey`. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Required as `Authorization: Bearer <key>` when set. */
  readonly apiKey?: string;
  /** Streams kept for conversations to continue (default 4). */
  readonly maxStreams?: number;
  /** Requests that may wait behind the one generating before more get 429 (default 1). */
  readonly maxQueued?: number;
  /** Largest request body (default 4 MiB); larger ones get 413. */
  readonly maxBodyBytes?: number;
  /** Tokens a reply may have when the request names no max_tokens (default 1024). */
  readonly maxTokens?: number;
  /**
   * False: never continue a cached stream; every request feeds its history again (the sinks and the last
   * W tokens, as truncate-and-re-prefill servers do once the context is full). For comparisons only.
   */
  readonly reuseStreams?: boolean;
  /** Seed for requests that name none (default: a fresh random one). */
  readonly seed?: () => number;
  /** Told after every turn: the stream, how it matched, and the engine's stats (the status line, tests). */
  readonly onTurn?: (turn: ServedTurn) => void;
  /** Told whenever a request starts or ends. */
  readonly onActivity?: () => void;
}

export interface ServedTurn {
  readonly endpoint: 'chat' | 'completions';
  readonly stream: StreamId;
  readonly match: StreamMatch['kind'];
  readonly reason: HostResult<'generate'>['reason'];
  readonly stats: GenerationStats;
  /** Tokens the stream holds after the turn. */
  readonly streamTokens: number;
}

/** What the app's status line shows. */
export interface ServerStatus {
  readonly url: string;
  /** Requests being answered now (generating or queued). */
  readonly active: number;
  readonly served: number;
  readonly streams: number;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export class OpenAIServer {
  private readonly server: Server;
  private readonly streams: StreamCache;
  private readonly completionStream: StreamId;
  private active = 0;
  private served = 0;
  private readonly opts: Required<Omit<OpenAIServerOptions, 'apiKey' | 'onTurn' | 'onActivity'>> & Pick<OpenAIServerOptions, 'apiKey' | 'onTurn' | 'onActivity'>;
  private address: AddressInfo | null = null;

  private constructor(options: OpenAIServerOptions) {
    this.opts = {
      host: '127.0.0.1',
      port: 0,
      maxStreams: 4,
      maxQueued: 1,
      maxBodyBytes: 4 * 1024 * 1024,
      maxTokens: 1024,
      reuseStreams: true,
      seed: () => Math.floor(Math.random() * 0x1_0000_0000),
      ...options,
    };
    if (!LOOPBACK.has(this.opts.host) && !this.opts.apiKey) {
      throw new Error(`the server would listen on ${this.opts.host}, beyond this machine: set an API key (--api-key) or bind to 127.0.0.1`);
    }
    const owner = options.engine.owner;
    this.streams = new StreamCache(this.opts.maxStreams, (id) => owner.holds(id), () => owner.newStream('api'));
    this.completionStream = owner.newStream('api-completions');
    this.server = createServer((req, res) => void this.route(req, res));
  }

  /** Starts listening; resolves once the port is bound. */
  static async start(options: OpenAIServerOptions): Promise<OpenAIServer> {
    const server = new OpenAIServer(options);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(server.opts.port, server.opts.host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    server.address = server.server.address() as AddressInfo;
    return server;
  }

  /** `http://host:port/v1`, what an OpenAI client takes as its base URL. */
  get baseUrl(): string {
    const { address, port, family } = this.address!;
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}/v1`;
  }

  status(): ServerStatus {
    return { url: this.baseUrl, active: this.active, served: this.served, streams: this.streams.list().length };
  }

  /** Ids of the engine streams this server uses (its conversations and its raw-completion stream). */
  streamIds(): StreamId[] {
    return [...this.streams.list().map((s) => s.id), this.completionStream];
  }

  /** Stops listening, ends open connections, and frees the server's streams in the engine. */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    const owner = this.opts.engine.owner;
    for (const id of this.streamIds()) {
      owner.drop(id);
      this.streams.drop(id);
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      this.checkHost(req);
      this.checkKey(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname.replace(/\/+$/, '');
      if (req.method === 'GET' && path === '/v1/models') return this.json(res, 200, { object: 'list', data: [await this.modelEntry()] });
      if (req.method === 'GET' && path.startsWith('/v1/models/')) {
        const entry = await this.modelEntry();
        if (decodeURIComponent(path.slice('/v1/models/'.length)) !== entry.id) throw unknownModel(path.slice('/v1/models/'.length));
        return this.json(res, 200, entry);
      }
      if (req.method === 'POST' && path === '/v1/chat/completions') return await this.answer(req, res, 'chat');
      if (req.method === 'POST' && path === '/v1/completions') return await this.answer(req, res, 'completions');
      throw new OpenAIError(404, `Unknown request URL: ${req.method} ${url.pathname}`, 'invalid_request_error', 'unknown_url');
    } catch (err) {
      this.fail(res, err);
    }
  }

  /**
   * On loopback, where no key may be set: the Host header must name this machine (DNS rebinding) and a
   * request a browser sends from a web page (it carries an Origin) must come from this machine too.
   */
  private checkHost(req: IncomingMessage): void {
    if (!LOOPBACK.has(this.opts.host)) return;
    const name = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!LOOPBACK.has(name)) throw new OpenAIError(403, `requests must name this machine as their host, not '${req.headers.host ?? ''}'`, 'invalid_request_error', 'bad_host');
    const origin = req.headers.origin;
    if (origin !== undefined && !LOOPBACK.has(hostOf(origin))) {
      throw new OpenAIError(403, `requests from web pages of other sites are refused (origin ${origin})`, 'invalid_request_error', 'bad_origin');
    }
  }

  private checkKey(req: IncomingMessage): void {
    const key = this.opts.apiKey;
    if (!key) return;
    const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    // Hashes of equal length, so the comparison takes the same time whatever the key.
    const digest = (s: string) => createHash('sha256').update(s).digest();
    if (!timingSafeEqual(digest(given), digest(key))) {
      throw new OpenAIError(401, given ? 'Incorrect API key provided.' : 'No API key provided: send it as "Authorization: Bearer <key>".', 'authentication_error', 'invalid_api_key');
    }
  }

  private async modelEntry(): Promise<{ id: string; object: 'model'; created: number; owned_by: string }> {
    const { id, info } = await this.model();
    return { id, object: 'model', created: Math.floor(Date.now() / 1000) - Math.round(info.loadMs / 1000), owned_by: 'ouro' };
  }

  private async model(): Promise<{ id: string; info: ModelInfo }> {
    try {
      return await this.opts.engine.model();
    } catch (err) {
      throw new OpenAIError(503, err instanceof Error ? err.message : String(err), 'server_error', 'no_model');
    }
  }

  private async answer(req: IncomingMessage, res: ServerResponse, endpoint: ServedTurn['endpoint']): Promise<void> {
    const body = await readJson(req, this.opts.maxBodyBytes);
    const defaults = { maxTokens: this.opts.maxTokens, seed: this.opts.seed };
    const request = endpoint === 'chat' ? parseChatRequest(body, defaults) : parseCompletionRequest(body, defaults);
    const { id: modelId } = await this.model();
    if (request.model !== modelId) throw unknownModel(request.model);

    const owner = this.opts.engine.owner;
    owner.admit(this.opts.maxQueued);
    let match: StreamMatch | null = null;
    let stream = this.completionStream;
    if (request.prompt.kind === 'chat') {
      match = this.streams.acquire(request.prompt.messages, this.opts.reuseStreams);
      stream = match.stream.id;
      if (match.evicted) owner.drop(match.evicted);
    } else {
      // A raw prompt is one whole text: it starts its stream afresh.
      owner.drop(stream);
    }
    const turn = owner.generate({ stream, prompt: request.prompt, options: request.options, cache: this.opts.engine.cache(), quiet: true });
    this.active++;
    this.opts.onActivity?.();
    const id = `${endpoint === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const out = new Reply(res, request, id, endpoint, modelId);
    const stopListening = owner.supervisor.onEvent((event) => {
      if (event.type !== 'cacheView' && event.seq === turn.seq && turn.host === owner.supervisor.client) out.event(event);
    });
    // A client that goes away stops its reply at the next token.
    res.on('close', () => {
      if (!res.writableFinished) void owner.cancel(turn.host, turn.seq);
    });
    try {
      const result = await turn.result;
      this.served++;
      if (match && request.prompt.kind === 'chat') {
        const fed: ChatMessage[] = [...request.prompt.messages];
        if (result.reason !== 'cancelled') fed.push({ role: 'assistant', content: result.text });
        this.streams.release(match.stream, fed);
      }
      this.opts.onTurn?.({ endpoint, stream, match: match?.kind ?? 'new', reason: result.reason, stats: result.stats, streamTokens: result.session.tokens });
      out.end(result);
    } catch (err) {
      if (match) this.streams.release(match.stream, null);
      out.fail(err);
    } finally {
      stopListening();
      this.active--;
      this.opts.onActivity?.();
    }
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, err: unknown): void {
    const error = toOpenAIError(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A body that was refused unread is dropped with the connection rather than read to its end.
    if (error.status === 413) res.setHeader('connection', 'close');
    this.json(res, error.status, error.body);
  }
}

/** One response: SSE chunks as tokens arrive, or one JSON object at the end. */
class Reply {
  private readonly created = Math.floor(Date.now() / 1000);
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly request: ParsedRequest,
    private readonly id: string,
    private readonly endpoint: ServedTurn['endpoint'],
    private readonly model: string,
  ) {}

  /** A host event of this turn: streamed text goes out as a chunk. */
  event(event: HostEvent): void {
    if (!this.request.stream || (event.type !== 'token' && event.type !== 'partial') || event.text === '') return;
    this.start();
    this.send(this.chunk({ content: event.text }, null));
  }

  end(result: HostResult<'generate'>): void {
    if (this.res.destroyed) return;
    const finish = result.reason === 'max' ? 'length' : 'stop';
    const usage = usageOf(result.stats);
    if (!this.request.stream) {
      const choice =
        this.endpoint === 'chat'
          ? { index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: finish }
          : { index: 0, text: result.text, logprobs: null, finish_reason: finish };
      const body = JSON.stringify({ id: this.id, object: this.endpoint === 'chat' ? 'chat.completion' : 'text_completion', created: this.created, model: this.model, choices: [choice], usage });
      this.res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      this.res.end(body);
      return;
    }
    this.start();
    this.send(this.chunk({}, finish));
    if (this.request.includeUsage) this.send({ ...this.chunk({}, null), choices: [], usage });
    this.res.end('data: [DONE]\n\n');
  }

  fail(err: unknown): void {
    const error = toOpenAIError(err);
    if (this.res.destroyed) return;
    if (!this.started) {
      this.res.writeHead(error.status, { 'content-type': 'application/json' });
      this.res.end(JSON.stringify(error.body));
      return;
    }
    // Mid-stream: OpenAI's clients read an `error` object in a data line as the stream's failure.
    this.send(error.body);
    this.res.end();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    if (this.endpoint === 'chat') this.send(this.chunk({ role: 'assistant', content: '' }, null));
  }

  private chunk(delta: { role?: string; content?: string }, finish: string | null): Record<string, unknown> {
    const base = { id: this.id, created: this.created, model: this.model };
    if (this.endpoint === 'chat') return { ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
    return { ...base, object: 'text_completion', choices: [{ index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finish }] };
  }

  private send(data: unknown): void {
    this.res.write(`data: ${JSON.stringify(data)}\n\n`);
  }
}

/**
 * OpenAI's usage plus Ouro's own `reprocessed_tokens` (tokens of earlier turns the engine fed again);
 * `prompt_tokens_details.cached_tokens` counts the prompt's tokens this turn did not feed (its cache had them).
 */
function usageOf(stats: GenerationStats) {
  return {
    prompt_tokens: stats.promptTokens,
    completion_tokens: stats.decodeTokens,
    total_tokens: stats.promptTokens + stats.decodeTokens,
    prompt_tokens_details: { cached_tokens: Math.max(0, stats.promptTokens - stats.prefillTokens) },
    reprocessed_tokens: stats.reprocessedTokens,
  };
}

/** The host name of an origin ('' when it is not a URL, e.g. `null`). */
function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function unknownModel(name: string): OpenAIError {
  return new OpenAIError(404, `The model '${name}' does not exist: this server serves the one GET /v1/models lists.`, 'not_found_error', 'model_not_found', 'model');
}

function toOpenAIError(err: unknown): OpenAIError {
  if (err instanceof OpenAIError) return err;
  if (err instanceof EngineBusyError) return new OpenAIError(429, `${err.message}; retry when it is done`, 'rate_limit_error', 'engine_busy');
  const message = err instanceof Error ? err.message : String(err);
  return new OpenAIError(500, message, 'server_error', err instanceof HostRequestError ? err.code : 'internal');
}

/** The request body as JSON, refused past `limit` bytes (413) or when it is not JSON (400). */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  // A JSON content type also keeps a web page from posting here without a CORS preflight this server never answers.
  if (!/^application\/json\b/i.test(type)) {
    throw new OpenAIError(400, `the request body must be JSON (Content-Type: application/json), got '${type}'`, 'invalid_request_error', 'invalid_content_type');
  }
  const tooLarge = () => new OpenAIError(413, `the request body is larger than the server's limit of ${limit} bytes`, 'invalid_request_error', 'request_too_large');
  if (Number(req.headers['content-length'] ?? 0) > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new OpenAIError(400, `the request body is not valid JSON: ${(err as Error).message}`, 'invalid_request_error', 'invalid_json');
  }
}
