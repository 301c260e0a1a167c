// Vite config of the renderer (React 19, strict CSP, relative base for file:// loading). Runs in Node at
// build time; `electron.config.ts` reuses `rendererConfig` for its renderer entry.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { CONTENT_SECURITY_POLICY, devContentSecurityPolicy, metaContentSecurityPolicy } from '../common/contentSecurityPolicy';

/** What index.html's CSP meta tag holds until the build fills it in. */
export const CSP_PLACEHOLDER = '%OURO_CSP%';

/**
 * Writes the policy into index.html's meta tag: the app's one policy in a build (the packaged app loads
 * the file from file://, where this tag is all the CSP there is), the dev server's relaxed one under
 * `vite serve` / `electron-vite dev` (React Refresh's inline preamble, HMR's WebSocket).
 */
function cspMeta(): Plugin {
  return {
    name: 'ouro-csp-meta',
    transformIndexHtml: {
      order: 'pre',
      handler(html, ctx) {
        const server = ctx.server;
        const devOrigin = server ? (server.resolvedUrls?.local[0] ?? `http://localhost:${server.config.server.port}/`).replace(/\/$/, '') : null;
        const policy = devOrigin === null ? CONTENT_SECURITY_POLICY : devContentSecurityPolicy(devOrigin);
        if (!html.includes(CSP_PLACEHOLDER)) throw new Error(`renderer/index.html lacks the ${CSP_PLACEHOLDER} meta tag content`);
        return html.replace(CSP_PLACEHOLDER, metaContentSecurityPolicy(policy));
      },
    },
  };
}

/** Renderer build settings: root `renderer/`, output `out/renderer`, assets referenced relatively. */
export const rendererConfig: UserConfig = {
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react(), cspMeta()],
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
