// The byte-serving half of the mock Hub: Range requests (206 / 416) and the injectable faults (cut,
// stall, slow, corrupt, ignored range, forced status). Runs in the test process.

import type { IncomingMessage, ServerResponse } from 'node:http';

/** A fault the next matching response(s) suffer. */
export type Fault =
  /** Send this many body bytes, then cut the connection. */
  | { readonly kind: 'drop'; readonly afterBytes: number }
  /** Answer with this status (and headers) instead. */
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Readonly<Record<string, string>> }
  /** Flip one byte of the body (same length): a hash mismatch. */
  | { readonly kind: 'corrupt' }
  /** Send the body in chunks with a delay between them. */
  | { readonly kind: 'slow'; readonly chunkBytes: number; readonly delayMs: number }
  /** Send this many bytes, then go silent without closing. */
  | { readonly kind: 'stall'; readonly afterBytes: number }
  /** Answer a Range request with 200 and the whole body. */
  | { readonly kind: 'ignore-range' }
  /** Answer 416 whatever the range. */
  | { readonly kind: 'range-416' };

/** Serves `whole` (honouring `Range` unless a fault says otherwise); returns the status sent. */
export function serveBytes(req: IncomingMessage, res: ServerResponse, whole: Buffer, fault: Fault | null, extra: Readonly<Record<string, string>>): number {
  if (fault?.kind === 'status') {
    res.writeHead(fault.status, { ...fault.headers });
    res.end();
    return fault.status;
  }
  const size = whole.length;
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const honourRange = m !== null && fault?.kind !== 'ignore-range';
  let start = 0;
  let end = size - 1;
  if (fault?.kind === 'range-416' || (honourRange && Number(m[1]) >= size)) {
    res.writeHead(416, { 'content-range': `bytes */${size}` });
    res.end();
    return 416;
  }
  if (honourRange) {
    start = Number(m[1]);
    if (m[2] !== '') end = Math.min(end, Number(m[2]));
  }
  let body = whole.subarray(start, end + 1);
  if (fault?.kind === 'corrupt') {
    body = Buffer.from(body);
    body[body.length >> 1] ^= 0xff;
  }
  const status = honourRange ? 206 : 200;
  res.writeHead(status, {
    'content-length': String(body.length),
    'accept-ranges': 'bytes',
    ...(honourRange ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    ...extra,
  });
  if (fault?.kind === 'drop') {
    // Cut after the client has read what was sent (a reset would make it drop its unread buffer).
    res.write(body.subarray(0, fault.afterBytes), () => setTimeout(() => res.socket?.destroy(), 50));
  } else if (fault?.kind === 'stall') {
    res.write(body.subarray(0, fault.afterBytes));
  } else if (fault?.kind === 'slow') {
    let at = 0;
    const tick = (): void => {
      if (res.destroyed) return;
      const next = body.subarray(at, at + fault.chunkBytes);
      at += next.length;
      if (at >= body.length) res.end(next);
      else res.write(next, () => setTimeout(tick, fault.delayMs));
    };
    tick();
  } else {
    res.end(body);
  }
  return status;
}
