// The renderer's Content Security Policy, one definition for the Electron window (response header) and
// the browser transport's static server. Pure data; runs in main.

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
