// The browser transport: an HTTP server on loopback that serves the built renderer and speaks the
// contract over a WebSocket at /ouro (JSON requests, replies and events), so the real renderer runs in
// a browser against real services. Runs in a plain Node process (tests, `npm run web`).
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { BRIDGE_PATH, type ApiReply, type AppEvent, type BridgeFrame } from '../../common/contract';
import { serveStatic } from './staticFiles';

/** What the bridge needs of the services: the verb call and the event stream. */
export interface BridgeServices {
  invoke(verb: unknown, args: unknown): Promise<ApiReply>;
  subscribe(listener: (event: AppEvent) => void): () => void;
}

export interface BridgeServerOptions {
  readonly services: BridgeServices;
  /** The built renderer (`out/renderer`). */
  readonly staticDir: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
}

export interface BridgeServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Largest frame accepted: a 1,000,000-character message JSON-escaped, with room to spare. */
const MAX_FRAME_BYTES = 8 * 1024 * 1024;
const MAX_ID_LENGTH = 128;

/** Starts the server on 127.0.0.1 (never another interface: the bridge has no authentication). */
export async function startBridgeServer(options: Readonly<BridgeServerOptions>): Promise<BridgeServer> {
  const { services, staticDir } = options;
  let port = 0;
  const server = createServer((req, res) => {
    if (!allowedHost(req, port)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Wrong Host header.');
      return;
    }
    serveStatic(staticDir, req, res).catch(() => res.destroy());
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== BRIDGE_PATH) return refuse(socket, 404, 'Not Found');
    // Another web page in the user's browser must not drive the app: same host and origin only.
    if (!allowedHost(req, port) || !allowedOrigin(req, port)) return refuse(socket, 403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data: RawData, isBinary: boolean) => void answer(services, ws, data, isBinary));
    ws.on('error', () => ws.terminate());
  });
  const unsubscribe = services.subscribe((event) => {
    const frame = JSON.stringify({ event } satisfies BridgeFrame);
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(frame);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      unsubscribe();
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads one frame, runs its verb, sends the reply; anything unreadable gets a typed error, and the socket stays open. */
async function answer(services: BridgeServices, ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
  const send = (frame: BridgeFrame) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame));
  };
  const bad = (id: number | string | null, message: string) => send({ id, ok: false, error: { code: 'bad-request', message } });
  if (isBinary) return bad(null, 'frames are JSON text, not binary');
  let frame: unknown;
  try {
    frame = JSON.parse(rawText(data));
  } catch {
    return bad(null, 'the frame is not valid JSON');
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return bad(null, 'a frame is an object { id, verb, args }');
  const { id, verb, args } = frame as { id?: unknown; verb?: unknown; args?: unknown };
  if (!validId(id)) return bad(null, `a frame needs an id: a number or a string of at most ${MAX_ID_LENGTH} characters`);
  let reply: ApiReply;
  try {
    reply = await services.invoke(verb, args);
  } catch (err) {
    reply = { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
  }
  send({ id, ...reply });
}

function validId(id: unknown): id is number | string {
  return (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length <= MAX_ID_LENGTH);
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** DNS rebinding defence: the Host header must name the loopback address we listen on. */
function allowedHost(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host;
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** Browsers always send Origin on WebSocket upgrades; non-browser clients (tests, tools) may omit it. */
function allowedOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
