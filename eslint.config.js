// Lint: typescript-eslint's recommended rules plus the layering rules of DESIGN §1/§2.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    files: ['main/index.ts', 'main/window.ts', 'main/ipc/**', 'preload/index.ts', 'electron.config.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [ortImport] }] },
  },
  {
    files: ['main/engine/onnxSession.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [electronImport] }] },
  },
);
