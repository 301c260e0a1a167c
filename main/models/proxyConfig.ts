// HTTP(S)_PROXY / NO_PROXY as curl reads them, and the CONNECT tunnel an https request takes through an
// http:// proxy. Runs in main; node:http only (no proxy package needed).

import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { DownloadError } from './downloadError';

/** The environment variables read here (process.env by default). */
export type ProxyEnv = Readonly<Record<string, string | undefined>>;

function envValue(env: ProxyEnv, ...names: string[]): string | undefined {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

function defaultPort(url: URL): string {
  return url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
}

/** URL.hostname keeps IPv6 brackets; sockets and NO_PROXY entries want the bare address. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * True when NO_PROXY exempts `url`: `*` exempts everything; an entry matches its host and every
 * subdomain (`example.com`, `.example.com` and `*.example.com` all match `cdn.example.com`); an entry
 * with a port (`host:8080`) matches that port only. CIDR ranges are not supported.
 */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = bareHost(url);
  const port = defaultPort(url);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | null = null;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1];
      entryPort = bracketed[2] ?? null;
    } else if (/^[^:]+:\d+$/.test(entry)) {
      const at = entry.lastIndexOf(':');
      entryPort = entry.slice(at + 1);
      entry = entry.slice(0, at);
    }
    entry = entry.replace(/^\*?\./, '');
    if (entryPort !== null && entryPort !== port) continue;
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

/**
 * The proxy for `url` per HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (either case) and NO_PROXY, or null for
 * a direct connection. Throws DownloadError `proxy` for a proxy scheme Ouro cannot speak (https://,
 * socks://): the message says which variable to change.
 */
export function proxyForUrl(url: URL, env: ProxyEnv = process.env): URL | null {
  const noProxy = envValue(env, 'NO_PROXY', 'no_proxy') ?? '';
  if (bypassesProxy(url, noProxy)) return null;
  const isHttps = url.protocol === 'https:';
  const names = isHttps ? ['HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy'] : ['HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'];
  const raw = envValue(env, ...names);
  if (raw === undefined) return null;
  let proxy: URL;
  try {
    proxy = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch (e) {
    throw new DownloadError('proxy', `The proxy setting "${raw}" (${names.join('/')}) is not a URL; use the form http://host:port.`, { cause: e });
  }
  if (proxy.protocol !== 'http:') {
    throw new DownloadError(
      'proxy',
      `Ouro speaks to proxies over plain http:// only, but the proxy setting is "${raw}"; set ${isHttps ? 'HTTPS_PROXY' : 'HTTP_PROXY'} to an http://host:port proxy (https downloads still use TLS end to end through it).`,
    );
  }
  return proxy;
}

/** `Proxy-Authorization` for a proxy URL with user:password, else undefined. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

/**
 * Opens a CONNECT tunnel through an http:// proxy to `host:port` and returns the raw socket, ready for
 * TLS. Rejects with DownloadError `proxy` when the proxy answers anything but 200 (407 says how to add
 * credentials); socket errors reject as they are, for the caller's retry logic.
 */
export function connectTunnel(proxy: URL, host: string, port: number, signal?: AbortSignal): Promise<Socket> {
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  const headers: Record<string, string> = { host: target };
  const auth = proxyAuthorization(proxy);
  if (auth !== undefined) headers['proxy-authorization'] = auth;
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      hostname: bareHost(proxy),
      port: Number(defaultPort(proxy)),
      method: 'CONNECT',
      path: target,
      headers,
      signal,
    });
    req.once('connect', (res, socket, head) => {
      if (res.statusCode === 200) {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
        return;
      }
      socket.destroy();
      const hint = res.statusCode === 407 ? ': the proxy wants credentials; use HTTPS_PROXY=http://user:password@host:port' : '';
      reject(new DownloadError('proxy', `The proxy ${proxy.host} refused to open a tunnel to ${target} (HTTP ${res.statusCode})${hint}.`, { status: res.statusCode ?? null }));
    });
    req.once('error', reject);
    req.end();
  });
}
