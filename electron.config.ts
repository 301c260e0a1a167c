// electron-vite build of the desktop app: main (with the engine host entry as a second bundle, forked as
// a utility process), the sandboxed preload as one CommonJS file, and the renderer with its own Vite
// settings (renderer/vite.config.ts). Runs in Node at build time.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './renderer/vite.config';

const at = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: at('./out/main'),
      // onnxruntime-node is a native addon: it stays a runtime require, loaded in the utility process only.
      externalizeDeps: { include: ['onnxruntime-node'] },
      rolldownOptions: {
        input: { index: at('./main/index.ts'), hostEntry: at('./main/host/hostEntry.ts') },
        output: { entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: at('./out/preload'),
      // A sandboxed preload can require only electron and a few built-ins: bundle everything it uses.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: at('./preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    ...rendererConfig,
    build: {
      ...rendererConfig.build,
      rolldownOptions: { input: at('./renderer/index.html') },
    },
  },
});
