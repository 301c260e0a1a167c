// Lint: typescript-eslint's recommended rules plus the layering rules of DESIGN §1/§2.
import js from '@eslint/js';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * Which top-level folders of ours each layer may import (DESIGN §1): `common/` is the pure layer every
 * side shares and imports nothing of ours but itself (of packages, only zod); the renderer and the
 * preload import only `common/` and their own files, never `main/`.
 */
const LAYERS = {
  common: { folders: ['common'], packages: ['zod'] },
  renderer: { folders: ['common', 'renderer'] },
  preload: { folders: ['common', 'preload'] },
};

const layering = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const from = relative(ROOT, context.filename).split(/[\\/]/)[0];
    const layer = LAYERS[from];
    if (layer === undefined) return {};
    const check = (node) => {
      const spec = node.source?.value;
      if (typeof spec !== 'string') return;
      if (!spec.startsWith('.')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (layer.packages && !layer.packages.includes(pkg)) {
          context.report({ node, message: `${from}/ is pure: it imports only ${layer.packages.join(', ')}, not "${spec}".` });
        }
        return;
      }
      const target = relative(ROOT, resolve(dirname(context.filename), spec)).split(/[\\/]/)[0];
      if (!layer.folders.includes(target)) {
        context.report({ node, message: `${from}/ imports only ${layer.folders.join('/ and ')}/, not "${spec}" (${target}/).` });
      }
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

const electronImport = {
  name: 'electron',
  message: 'electron is imported only by the thin shell (main/index.ts, main/window.ts, main/ipc, preload/index.ts).',
};
const ortImport = {
  name: 'onnxruntime-node',
  message: 'onnxruntime-node is imported only by main/engine/onnxSession.ts (the session seam).',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'release/', 'test/.fixtures/', 'bench/.work/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-imports': ['error', { paths: [electronImport, ortImport] }],
    },
  },
  {
    files: ['common/**', 'renderer/**', 'preload/**'],
    ignores: ['renderer/vite.config.ts'],
    plugins: { local: { rules: { layering } } },
    rules: { 'local/layering': 'error' },
  },
  {
    files: ['main/index.ts', 'main/window.ts', 'main/ipc/**', 'preload/index.ts', 'electron.config.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ortImport] }] },
  },
  {
    files: ['main/engine/onnxSession.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronImport] }] },
  },
);
