// The renderer's Content Security Policy, one definition for the Electron window (response header, and
// the meta tag the renderer build writes into index.html) and the browser transport's static server.
// Pure data; runs in main and in the renderer's build.

/**
 * Everything from the app itself, nothing remote, no eval, no inline script. Styles need no
 * 'unsafe-inline': React's `style` props are set through the CSSOM, which CSP does not govern, and the
 * built renderer links its CSS. `connect-src 'self'` covers the browser transport's same-origin WebSocket.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The development policy for a Vite dev server at `devOrigin` (`npm run dev` only, never packaged): its
 * HMR WebSocket, the style tags it injects and React Refresh's inline preamble script are allowed;
 * still no eval and nothing from any other origin.
 */
export function devContentSecurityPolicy(devOrigin: string): string {
  const ws = devOrigin.replace(/^http/, 'ws');
  return CONTENT_SECURITY_POLICY.replace("script-src 'self'", `script-src 'self' 'unsafe-inline' ${devOrigin}`)
    .replace("style-src 'self'", `style-src 'self' 'unsafe-inline' ${devOrigin}`)
    .replace("connect-src 'self'", `connect-src 'self' ${devOrigin} ${ws}`);
}

/** Directives a `<meta http-equiv>` policy cannot carry (browsers ignore them there, with a console error). */
const HEADER_ONLY_DIRECTIVES: ReadonlySet<string> = new Set(['frame-ancestors', 'report-uri', 'sandbox']);

/**
 * `policy` as index.html's meta tag states it. The packaged app loads index.html from file://, where no
 * response header exists (Electron's onHeadersReceived never sees file:// loads), so this tag is the
 * policy in force there: everything of the header policy except frame-ancestors, which only a header can
 * set and which a top-level window does not need.
 */
export function metaContentSecurityPolicy(policy: string): string {
  return policy
    .split(';')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !HEADER_ONLY_DIRECTIVES.has(d.split(/\s+/)[0]))
    .join('; ');
}
