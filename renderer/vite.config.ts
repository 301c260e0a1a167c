// Vite config of the renderer (React 19, strict CSP, relative base for file:// loading). Runs in Node at
// build time; `electron.config.ts` reuses `rendererConfig` for its renderer entry.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin, type UserConfig } from 'vite';

/** The production Content-Security-Policy; index.html carries the same string in a meta tag. */
export const RENDERER_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:";

/**
 * The dev server's React Refresh preamble is an inline script and HMR talks over ws:, so `vite serve`
 * (and `electron-vite dev`) relaxes exactly those two directives; builds keep the strict policy.
 */
function devCsp(): Plugin {
  return {
    name: 'ouro-dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html.replace(
        RENDERER_CSP,
        RENDERER_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
          "connect-src 'self'",
          "connect-src 'self' ws: wss:",
        ),
      );
    },
  };
}

/** Renderer build settings: root `renderer/`, output `out/renderer`, assets referenced relatively. */
export const rendererConfig: UserConfig = {
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react(), devCsp()],
  build: {
    outDir: fileURLToPath(new URL('../out/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome130',
    // Keep every asset a file: the CSP has no `data:` for scripts or fonts.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2048,
  },
};

export default defineConfig(rendererConfig);
