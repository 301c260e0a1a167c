// Zod's settings for the renderer, applied before any schema is built (main.tsx imports this first):
// jitless, so zod never probes `new Function`, which the strict CSP blocks and reports as a violation.
// Renderer.
import { z } from 'zod';

z.config({ jitless: true });
