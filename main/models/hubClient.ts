// Hugging Face Hub API: a revision's commit and file metadata (size, LFS sha256, git blob id), resolve
// URLs, and the Hub's HTTP errors turned into actionable DownloadErrors. Runs in main; no electron.

import { z } from 'zod';
import { originOf, tokenMayGoTo } from '../../common/settingsSchema';
import { DownloadError } from './downloadError';
import { readText, type HttpResponse, type HttpTransport } from './httpTransport';

/** One file of a revision, as the Hub describes it. */
export interface HubFile {
  readonly path: string;
  readonly size: number;
  /** LFS files: the sha256 of the content (the LFS oid). */
  readonly sha256: string | null;
  /** Non-LFS files: the git blob id (sha1 of `blob <size>\0<content>`). */
  readonly gitOid: string | null;
}

/** A revision resolved to its commit. */
export interface HubRevision {
  readonly repo: string;
  readonly commit: string;
  /** `false`, or how access is granted (`auto` / `manual`): downloads then need a token. */
  readonly gated: false | 'auto' | 'manual';
  readonly files: ReadonlyMap<string, HubFile>;
}

const SiblingSchema = z.object({
  rfilename: z.string(),
  size: z.number().int().nonnegative().optional(),
  blobId: z.string().optional(),
  lfs: z.object({ sha256: z.string(), size: z.number().int().nonnegative() }).partial().optional().nullable(),
});
const RevisionInfoSchema = z.object({
  sha: z.string().regex(/^[0-9a-f]{40}$/),
  gated: z.union([z.literal(false), z.literal('auto'), z.literal('manual')]).optional(),
  siblings: z.array(SiblingSchema),
});

const SHA256 = /^[0-9a-f]{64}$/;
const SHA1 = /^[0-9a-f]{40}$/;

/** What an HTTP error is about, for its message. */
export interface HubErrorContext {
  readonly repo: string;
  readonly revision: string;
  readonly file?: string;
  readonly hasToken: boolean;
  /** A token is saved but not sent to this Hub (http, or a mirror not trusted with it). */
  readonly tokenWithheld?: boolean;
  readonly baseUrl: string;
}

/** The Hub refused a request that went without the saved token, because this Hub may not have it. */
export function tokenWithheldError(ctx: Pick<HubErrorContext, 'repo' | 'file' | 'baseUrl'>, status: number | null = null): DownloadError {
  return new DownloadError(
    'token-withheld',
    `${ctx.repo} needs your Hugging Face token, and it was not sent: Ouro sends it only to huggingface.co over https, or to a mirror you trust with it in Settings (${new URL(ctx.baseUrl).host} is neither).`,
    { file: ctx.file ?? null, status },
  );
}

/** Maps a failed Hub (or CDN) response to a DownloadError whose message says what to do. */
export function hubHttpError(res: HttpResponse, ctx: Readonly<HubErrorContext>): DownloadError {
  const status = res.status;
  const code = res.header('x-error-code');
  const page = `${ctx.baseUrl}/${ctx.repo}`;
  const opts = { file: ctx.file ?? null, status };
  const fromCdn = originOf(res.url) !== originOf(ctx.baseUrl);
  if (fromCdn && (status === 401 || status === 403)) {
    // The Hub's redirect carries a signed, short-lived CDN URL; a retry asks the Hub for a fresh one.
    return new DownloadError('server', `The download link for ${ctx.file ?? ctx.repo} expired or was refused by ${new URL(res.url).host} (HTTP ${status}); retrying with a new one.`, {
      ...opts,
      retryable: true,
    });
  }
  if (ctx.tokenWithheld && (code === 'GatedRepo' || status === 401 || status === 403)) return tokenWithheldError(ctx, status);
  if (code === 'GatedRepo' || status === 403) {
    const why = ctx.hasToken
      ? `your Hugging Face token has no access to ${ctx.repo} yet. Open ${page}, sign in with the same account and accept the licence (some authors approve requests by hand, which can take a while), then retry`
      : `${ctx.repo} is a gated model. Open ${page}, sign in and accept its licence, create a read token at ${ctx.baseUrl}/settings/tokens, and paste it in Settings → Hugging Face token; then retry`;
    return new DownloadError('gated', `Cannot download: ${why}.`, opts);
  }
  if (code === 'RepoNotFound') {
    const hint = ctx.hasToken ? 'check the name' : 'check the name; if it is private, add a Hugging Face token in Settings';
    return new DownloadError('not-found', `The repository ${ctx.repo} does not exist on the Hub (${hint}).`, opts);
  }
  if (code === 'RevisionNotFound') {
    return new DownloadError('not-found', `The revision "${ctx.revision}" does not exist in ${ctx.repo}; the catalog entry needs updating.`, opts);
  }
  if (code === 'EntryNotFound' || status === 404) {
    return ctx.file !== undefined
      ? new DownloadError('not-found', `${ctx.file} is not in ${ctx.repo} at revision ${ctx.revision} (HTTP 404); the catalog entry needs updating.`, opts)
      : new DownloadError('not-found', `${ctx.repo} was not found on the Hub (HTTP 404).`, opts);
  }
  if (status === 401) {
    return ctx.hasToken
      ? new DownloadError('auth-required', `The Hub refused your Hugging Face token for ${ctx.repo} (HTTP 401); it may be expired or revoked: create a new one at ${ctx.baseUrl}/settings/tokens and replace it in Settings.`, opts)
      : new DownloadError('auth-required', `${ctx.repo} needs a Hugging Face account (HTTP 401): create a read token at ${ctx.baseUrl}/settings/tokens and add it in Settings → Hugging Face token.`, opts);
  }
  if (status === 407) {
    return new DownloadError('proxy', 'The proxy wants credentials (HTTP 407): set HTTPS_PROXY / HTTP_PROXY to http://user:password@host:port.', opts);
  }
  if (status === 416) {
    return new DownloadError('range-not-satisfiable', `The server refused to resume ${ctx.file ?? ctx.repo} (HTTP 416).`, opts);
  }
  if (status === 429) {
    return new DownloadError('server', 'The Hub is rate-limiting downloads (HTTP 429); wait a few minutes and retry.', { ...opts, retryable: true });
  }
  if (status >= 500) {
    return new DownloadError('server', `The Hub had a problem (HTTP ${status}); retry later.`, { ...opts, retryable: true });
  }
  return new DownloadError('server', `Unexpected answer from ${new URL(res.url).host} (HTTP ${status}) for ${ctx.file ?? ctx.repo}.`, opts);
}

/** Options of {@link HubClient}. */
export interface HubClientOptions {
  /** Default https://huggingface.co (a mirror or the test hub otherwise). */
  readonly baseUrl?: string;
  readonly token?: string;
  /** A mirror the user trusts with the token; otherwise it goes to https://huggingface.co only (tokenMayGoTo). */
  readonly trustedMirror?: string | null;
  readonly transport: HttpTransport;
}

/** Checks a repo id (`owner/name`) and a repo-relative file path before they go into a URL. */
export function assertSafeRepoPath(repo: string, path?: string): void {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo) || repo.includes('..')) {
    throw new DownloadError('bad-request', `"${repo}" is not a Hugging Face repository id (owner/name).`);
  }
  if (path === undefined) return;
  const segments = path.split('/');
  if (path.length > 512 || segments.some((s) => s === '' || s === '.' || s === '..' || !/^[\w.\- ]+$/.test(s))) {
    throw new DownloadError('bad-request', `"${path}" is not a safe file path inside a model folder.`, { file: path });
  }
}

/** Reads revision metadata from the Hub and builds resolve URLs. */
export class HubClient {
  readonly baseUrl: string;
  /** A token is saved but this Hub may not have it (http, or a mirror the user did not trust with it). */
  readonly tokenWithheld: boolean;
  private readonly token: string | undefined;
  private readonly transport: HttpTransport;

  constructor(options: Readonly<HubClientOptions>) {
    this.baseUrl = (options.baseUrl ?? 'https://huggingface.co').replace(/\/+$/, '');
    const token = options.token === undefined || options.token.trim() === '' ? undefined : options.token.trim();
    // Every request goes to baseUrl's origin (redirects drop the header when the origin changes), so
    // judging baseUrl once decides for all of them.
    const allowed = tokenMayGoTo(this.baseUrl, options.trustedMirror ?? null);
    this.token = allowed ? token : undefined;
    this.tokenWithheld = token !== undefined && !allowed;
    this.transport = options.transport;
  }

  /** Whether requests carry the token. */
  get hasToken(): boolean {
    return this.token !== undefined;
  }

  /** The context of this Hub's HTTP errors for `repo` at `revision`. */
  errorContext(repo: string, revision: string): HubErrorContext {
    return { repo, revision, hasToken: this.hasToken, tokenWithheld: this.tokenWithheld, baseUrl: this.baseUrl };
  }

  /** `Authorization` for Hub requests, when the token may go there (the transport drops it on the CDN hop). */
  authHeaders(): Record<string, string> {
    return this.token === undefined ? {} : { authorization: `Bearer ${this.token}` };
  }

  /** `{base}/{repo}/resolve/{commit}/{path}`, each path segment escaped. */
  resolveUrl(repo: string, commit: string, path: string): string {
    assertSafeRepoPath(repo, path);
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return `${this.baseUrl}/${repo}/resolve/${encodeURIComponent(commit)}/${encoded}`;
  }

  /**
   * `GET {base}/api/models/{repo}/revision/{revision}?blobs=true`: the commit the revision points at and
   * every file's size and hash. Throws DownloadError (network errors propagate raw for the retry loop).
   */
  async revision(repo: string, revision: string, signal?: AbortSignal): Promise<HubRevision> {
    assertSafeRepoPath(repo);
    const url = `${this.baseUrl}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const res = await this.transport.request({ url, headers: { accept: 'application/json', ...this.authHeaders() }, signal });
    if (res.status !== 200) {
      res.discard();
      throw hubHttpError(res, this.errorContext(repo, revision));
    }
    let parsed;
    try {
      parsed = RevisionInfoSchema.parse(JSON.parse(await readText(res)));
    } catch (e) {
      throw new DownloadError('server', `The Hub's description of ${repo}@${revision} is not in the expected form; is ${this.baseUrl} a Hugging Face Hub?`, { cause: e });
    }
    const files = new Map<string, HubFile>();
    for (const s of parsed.siblings) {
      const lfsSha = s.lfs?.sha256;
      const size = s.lfs?.size ?? s.size;
      if (size === undefined) continue;
      files.set(s.rfilename, {
        path: s.rfilename,
        size,
        sha256: lfsSha !== undefined && SHA256.test(lfsSha) ? lfsSha : null,
        gitOid: s.lfs == null && s.blobId !== undefined && SHA1.test(s.blobId) ? s.blobId : null,
      });
    }
    return { repo, commit: parsed.sha, gated: parsed.gated ?? false, files };
  }
}
