// A real HTTP(S) stand-in for the Hugging Face Hub on loopback: the revision API, resolve URLs that
// redirect LFS files to a "CDN" on a second host name and port, gated and missing repos, files listed
// without a hash, and injectable faults. Over TLS with the test certificate when asked (tokens go only over https).
// Runs in the test process.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { join, relative, sep } from 'node:path';
import type { HttpTransport } from '../../main/models/httpTransport';
import { nodeHttpTransport } from '../../main/models/nodeHttpTransport';
import { serveBytes, type Fault } from './mockHubBytes';
import { TEST_CERT, TEST_KEY } from './tlsFixture';

export type { Fault } from './mockHubBytes';

/** A transport that trusts the test certificate of a `tls` mock Hub (and ignores proxy variables). */
export function mockHubTransport(): HttpTransport {
  return nodeHttpTransport({ ca: TEST_CERT, env: {} });
}

/** Where a fault applies: the revision API, or the bytes of one file (hub or CDN, wherever they come from). */
export type FaultTarget = { readonly api: true } | { readonly file: string };

/** A request the mock saw. */
export interface SeenRequest {
  readonly server: 'hub' | 'cdn';
  readonly path: string;
  readonly file: string | null;
  readonly range: string | null;
  readonly authorization: string | null;
  readonly status: number;
}

/** Options of {@link MockHub.addRepo}. */
export interface MockRepoOptions {
  /** Which files are LFS (served via the CDN redirect, with a sha256); default `.onnx` and `.onnx_data`. */
  readonly lfs?: (path: string) => boolean;
  readonly gated?: false | 'auto' | 'manual';
  /** Tokens that accepted the gate (or may see a private repo). */
  readonly acceptedTokens?: readonly string[];
  /** Sizes the API reports instead of the real ones (to test the disk-space check). */
  readonly reportedSizes?: Readonly<Record<string, number>>;
  /** sha256 the API reports instead of the real one. */
  readonly reportedSha256?: Readonly<Record<string, string>>;
  /** Files the API lists with a size but no hash at all (as a careless mirror might). */
  readonly unhashed?: readonly string[];
  readonly commit?: string;
}

interface Repo {
  readonly commit: string;
  readonly files: Map<string, Buffer>;
  readonly options: MockRepoOptions;
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
function gitOid(b: Buffer): string {
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}
const isLfsDefault = (p: string): boolean => p.endsWith('.onnx') || p.endsWith('.onnx_data');

function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, host, () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? addr.port : 0);
    });
  });
}

/** The mock Hub: `baseUrl` is the Hub (127.0.0.1), `cdnUrl` the CDN (localhost, another port). */
export class MockHub {
  readonly requests: SeenRequest[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly blobs = new Map<string, { repo: string; path: string }>();
  private readonly faults: Array<{ target: FaultTarget; fault: Fault; times: number }> = [];
  private readonly sockets = new Set<Socket>();
  private hubPort = 0;
  private cdnPort = 0;

  private constructor(
    private readonly hub: Server,
    private readonly cdn: Server,
    private readonly scheme: 'http' | 'https',
  ) {}

  /** Starts both servers on loopback; `tls`: both speak https with the test certificate (trust TEST_CERT). */
  static async start(options: { tls?: boolean } = {}): Promise<MockHub> {
    const server = (): Server => (options.tls ? createTlsServer({ key: TEST_KEY, cert: TEST_CERT }) : createServer());
    const mock = new MockHub(server(), server(), options.tls ? 'https' : 'http');
    mock.hub.on('request', (req, res) => mock.onHub(req, res));
    mock.cdn.on('request', (req, res) => mock.onCdn(req, res));
    for (const s of [mock.hub, mock.cdn]) {
      s.on('connection', (sock) => {
        mock.sockets.add(sock);
        sock.on('close', () => mock.sockets.delete(sock));
      });
    }
    mock.hubPort = await listen(mock.hub, '127.0.0.1');
    mock.cdnPort = await listen(mock.cdn, '127.0.0.1');
    return mock;
  }

  get baseUrl(): string {
    return `${this.scheme}://127.0.0.1:${this.hubPort}`;
  }

  /** The CDN, reached by another host name: the token must not follow the redirect there. */
  get cdnUrl(): string {
    return `${this.scheme}://localhost:${this.cdnPort}`;
  }

  /** Publishes `files` as `repo`; returns the commit. */
  addRepo(repo: string, files: Readonly<Record<string, Buffer>>, options: MockRepoOptions = {}): string {
    const commit = options.commit ?? createHash('sha1').update(`${repo}:${Object.keys(files).join(',')}`).digest('hex');
    const map = new Map(Object.entries(files));
    this.repos.set(repo, { commit, files: map, options });
    for (const [path, buf] of map) this.blobs.set(sha256(buf), { repo, path });
    return commit;
  }

  /** Publishes every file under `dir` (relative paths with `/`) as `repo`; returns the commit. */
  addFolder(repo: string, dir: string, options: MockRepoOptions & { skip?: readonly string[] } = {}): string {
    const files: Record<string, Buffer> = {};
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const abs = join(d, name);
        if (statSync(abs).isDirectory()) walk(abs);
        else {
          const rel = relative(dir, abs).split(sep).join('/');
          if (!(options.skip ?? []).includes(rel)) files[rel] = readFileSync(abs);
        }
      }
    };
    walk(dir);
    return this.addRepo(repo, files, options);
  }

  /** The bytes the mock serves for `repo`/`path`. */
  content(repo: string, path: string): Buffer {
    const buf = this.repos.get(repo)?.files.get(path);
    if (buf === undefined) throw new Error(`mock hub has no ${repo}/${path}`);
    return buf;
  }

  /** Injects `fault` into the next `times` matching responses. */
  fault(target: FaultTarget, fault: Fault, times = 1): void {
    this.faults.push({ target, fault, times });
  }

  /** Requests for `file` (on either server), in order. */
  requestsFor(file: string): SeenRequest[] {
    return this.requests.filter((r) => r.file === file);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([this.hub, this.cdn].map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private takeFault(match: (t: FaultTarget) => boolean): Fault | null {
    const i = this.faults.findIndex((f) => match(f.target));
    if (i < 0) return null;
    const rule = this.faults[i];
    if (--rule.times <= 0) this.faults.splice(i, 1);
    return rule.fault;
  }

  private record(req: IncomingMessage, server: 'hub' | 'cdn', file: string | null, status: number): void {
    this.requests.push({
      server,
      path: req.url ?? '',
      file,
      range: req.headers.range ?? null,
      authorization: req.headers.authorization ?? null,
      status,
    });
  }

  private error(req: IncomingMessage, res: ServerResponse, file: string | null, status: number, code: string): void {
    this.record(req, 'hub', file, status);
    res.writeHead(status, { 'x-error-code': code, 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: code }));
  }

  private tokenOf(req: IncomingMessage): string | null {
    const auth = req.headers.authorization;
    return auth?.startsWith('Bearer ') ? auth.slice(7) : null;
  }

  private onHub(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    if (api) {
      const [, repoId, rev] = api;
      const fault = this.takeFault((t) => 'api' in t);
      if (fault?.kind === 'stall') {
        this.record(req, 'hub', null, 0);
        return;
      }
      if (fault?.kind === 'status') {
        this.record(req, 'hub', null, fault.status);
        res.writeHead(fault.status, { ...fault.headers });
        res.end();
        return;
      }
      const repo = this.repos.get(repoId);
      if (repo === undefined) return this.error(req, res, null, this.tokenOf(req) === null ? 401 : 404, 'RepoNotFound');
      if (decodeURIComponent(rev) !== 'main' && decodeURIComponent(rev) !== repo.commit) return this.error(req, res, null, 404, 'RevisionNotFound');
      const lfs = repo.options.lfs ?? isLfsDefault;
      const siblings = [...repo.files].map(([path, buf]) => {
        const size = repo.options.reportedSizes?.[path] ?? buf.length;
        if (repo.options.unhashed?.includes(path)) return { rfilename: path, size };
        if (!lfs(path)) return { rfilename: path, size, blobId: gitOid(buf) };
        const sha = repo.options.reportedSha256?.[path] ?? sha256(buf);
        return { rfilename: path, size, blobId: gitOid(Buffer.from(`pointer ${sha}`)), lfs: { sha256: sha, size, pointerSize: 134 } };
      });
      this.record(req, 'hub', null, 200);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: repoId, sha: repo.commit, gated: repo.options.gated ?? false, private: false, siblings }));
      return;
    }
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!resolve) return this.error(req, res, null, 404, 'NotFound');
    const [, repoId, rev, rawPath] = resolve;
    const path = rawPath.split('/').map(decodeURIComponent).join('/');
    const repo = this.repos.get(repoId);
    if (repo === undefined) return this.error(req, res, path, this.tokenOf(req) === null ? 401 : 404, 'RepoNotFound');
    if (repo.options.gated) {
      const token = this.tokenOf(req);
      if (token === null) return this.error(req, res, path, 401, 'GatedRepo');
      if (!(repo.options.acceptedTokens ?? []).includes(token)) return this.error(req, res, path, 403, 'GatedRepo');
    }
    if (decodeURIComponent(rev) !== 'main' && decodeURIComponent(rev) !== repo.commit) return this.error(req, res, path, 404, 'RevisionNotFound');
    const buf = repo.files.get(path);
    if (buf === undefined) return this.error(req, res, path, 404, 'EntryNotFound');
    if ((repo.options.lfs ?? isLfsDefault)(path)) {
      this.record(req, 'hub', path, 302);
      res.writeHead(302, {
        location: `${this.cdnUrl}/blobs/${sha256(buf)}?X-Amz-Signature=mock`,
        'x-repo-commit': repo.commit,
        'x-linked-size': String(buf.length),
        'x-linked-etag': `"${sha256(buf)}"`,
      });
      res.end();
      return;
    }
    this.serve(req, res, 'hub', path, buf, { 'x-repo-commit': repo.commit, etag: `"${gitOid(buf)}"` });
  }

  private onCdn(req: IncomingMessage, res: ServerResponse): void {
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(new URL(req.url ?? '/', this.cdnUrl).pathname);
    const blob = m ? this.blobs.get(m[1]) : undefined;
    if (!m || blob === undefined) {
      this.record(req, 'cdn', null, 404);
      res.writeHead(404);
      res.end();
      return;
    }
    this.serve(req, res, 'cdn', blob.path, this.content(blob.repo, blob.path), { etag: `"${m[1]}"` });
  }

  private serve(req: IncomingMessage, res: ServerResponse, server: 'hub' | 'cdn', file: string, whole: Buffer, extra: Record<string, string>): void {
    const fault = this.takeFault((t) => 'file' in t && t.file === file);
    const status = serveBytes(req, res, whole, fault, extra);
    this.record(req, server, file, status);
  }
}
