// Cache panel frame rate: the built renderer in headless Chromium against a synthetic bridge that streams
// 50 tokens/s (token + cacheView write events) into a full C = 4,096 cache, with the panel closed (baseline)
// and open in each colour mode. Frame times come from the page's animation frames and its performance
// timeline (long animation frames); prints a table and writes bench/results/cache-panel-fps.json.
// Benchmark process (never part of npm test): npm run build:renderer first.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import type { ApiReply, AppEvent, CacheFullView, Conversation, ModelInfo } from '../../common/contract';
import { emptyStats } from '../../common/stats';
import { defaultSettings } from '../../common/settingsSchema';
import { startBridgeServer } from '../../main/web/bridgeServer';
import { findChromium } from '../../test/e2e/chromium';
import { machineInfo } from '../lib/machine';
import { mdTable } from '../lib/stats';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '50' },
    sink: { type: 'string', default: '4' },
    window: { type: 'string', default: '4092' },
    chromium: { type: 'string', default: findChromium()?.path ?? '' },
  },
  strict: true,
});

const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const S = Number(values.sink);
const W = Number(values.window);
const C = S + W;
const RENDERER_DIR = fileURLToPath(new URL('../../out/renderer/', import.meta.url));
const RESULT = fileURLToPath(new URL('../results/cache-panel-fps.json', import.meta.url));
/** The issue's bar: at least this many frames per second with the panel open. */
const TARGET_FPS = 55;

const CONVERSATION_ID = 'bench-conversation';
const WORDS = ['Once', ' upon', ' a', ' time', ',', ' there', ' was', ' a', ' little', ' girl', ' named', ' Lily', '.', '↵'];

/** A synthetic engine: a full cache whose next `n` tokens it can stream as the host would. */
class SyntheticCache {
  nextPos = 3 * C;
  private seq = 0;
  /** The cache view protocol's op counter. */
  private viewSeq = 0;

  slotOf(p: number): number {
    return p < S ? p : S + ((p - S) % W);
  }

  view(): CacheFullView {
    const slots = [];
    const texts: string[] = [];
    const message: number[] = [];
    const char: number[] = [];
    const firstVisible = Math.max(S, this.nextPos - W + 1);
    for (let j = 0; j < C; j++) {
      // A sink holds its position; a ring slot the newest position that maps to it.
      const p = j < S ? j : this.latestAt(j);
      slots.push({ slot: j, kind: j < S ? ('sink' as const) : ('ring' as const), pos: p, ropePos: j < S ? firstVisible - S + j : p, tokenId: 100 + (p % 300), visible: j < S || p >= firstVisible });
      texts.push(WORDS[p % WORDS.length]);
      message.push(j < S ? 0 : 1 + Math.floor(p / 700) % 2);
      char.push(j < S ? j * 4 : (p % 700) * 3);
    }
    return {
      sink: S,
      window: W,
      capacity: C,
      pinBudget: 0,
      pins: [],
      sinkRopeShift: firstVisible - S,
      positions: 'cache',
      nextPos: this.nextPos,
      offset: 0,
      evicted: this.nextPos - C,
      head: this.slotOf(this.nextPos),
      firstVisible,
      seq: this.viewSeq,
      stream: CONVERSATION_ID,
      slots,
      texts,
      owners: { message, char, pinnedChars: [28, 0, 0], located: [true, true, true], ids: ['', 'u1', 'a1'] },
    };
  }

  /** Position held by ring slot j: the largest p < nextPos with slotOf(p) = j. */
  private latestAt(j: number): number {
    const last = this.nextPos - 1;
    const back = (((this.slotOf(last) - j) % W) + W) % W;
    return last - back;
  }

  /** The events of one decoded token: its `token` event, then the step's `write` op. */
  step(seq: number): AppEvent[] {
    this.seq = seq;
    const pos = this.nextPos;
    const slot = this.slotOf(pos);
    const text = WORDS[pos % WORDS.length].replace('↵', '\n');
    this.nextPos++;
    const firstVisible = Math.max(S, this.nextPos - W + 1);
    return [
      { type: 'token', seq, id: 100 + (pos % 300), text, pos, slot },
      {
        type: 'cacheView',
        viewSeq: ++this.viewSeq,
        stream: CONVERSATION_ID,
        op: {
          kind: 'write',
          rows: [{ slot, pos, tokenId: 100 + (pos % 300), ropePos: pos, text: WORDS[pos % WORDS.length], message: `r${seq}`, char: (pos % 700) * 3 }],
          rebased: false,
          header: { head: this.slotOf(this.nextPos), nextPos: this.nextPos, evicted: this.nextPos - C, firstVisible, offset: 0, sinkRopeShift: firstVisible - S },
        },
      },
    ];
  }

  get currentSeq(): number {
    return this.seq;
  }
}

const MODEL: ModelInfo = {
  dir: '/bench/model',
  name: 'synthetic',
  variant: 'model',
  modelType: 'llama',
  layers: 30,
  kvHeads: 3,
  headDim: 64,
  vocabSize: 49152,
  maxPositions: 8192,
  maxPos: 8192,
  kvBytesPerToken: 30 * 2 * 3 * 64 * 4,
  provider: 'cpu',
  providerNote: null,
  q4Compute: null,
  hasChatTemplate: true,
  ropeProbe: { ok: true, maxError: 0 },
  warnings: [],
  loadMs: 0,
  eosTokenIds: [2],
  generationDefaults: {},
};

function conversation(): Conversation {
  const long = Array.from({ length: 60 }, (_, i) => `Sentence ${i} of an earlier reply that has long left the window.`).join(' ');
  return {
    id: CONVERSATION_ID,
    title: 'Benchmark',
    createdAt: 1,
    updatedAt: 2,
    messages: [
      { id: 'u1', role: 'user', content: 'Tell me a long story.', createdAt: 1, status: 'complete' },
      { id: 'a1', role: 'assistant', content: long, createdAt: 2, status: 'complete' },
    ],
  };
}

/** The verbs the renderer calls, answered from fixed data; streaming starts on `chat.send`. */
function syntheticServices(cache: SyntheticCache) {
  const listeners = new Set<(event: AppEvent) => void>();
  const emit = (event: AppEvent) => {
    for (const l of listeners) l(event);
  };
  let timer: ReturnType<typeof setInterval> | null = null;
  const settings = { ...defaultSettings(), cache: { sink: S, window: W, positions: 'cache' as const } };
  const answers: Record<string, (args: Record<string, unknown>) => unknown> = {
    'settings.get': () => settings,
    'app.info': () => ({ version: 'bench', dataDir: '/bench', providers: [], platform: process.platform }),
    'models.list': () => [{ id: 'bench', name: 'synthetic', dir: MODEL.dir, source: 'imported' }],
    'models.current': () => MODEL,
    'conversations.list': () => [{ id: CONVERSATION_ID, title: 'Benchmark', createdAt: 1, updatedAt: 2, messageCount: 2, preview: '' }],
    'conversations.open': () => ({ conversation: conversation() }),
    'cache.view': () => cache.view(),
    'chat.preview': () => ({ draftTokens: 4, pushedOut: 4 }),
    'chat.stop': () => {
      if (timer) clearInterval(timer);
      timer = null;
      emit({ type: 'done', seq: cache.currentSeq, reason: 'cancelled', stats: { ...emptyStats(), decodeTokPerSec: RATE, tokensSeen: cache.nextPos, tokensEvicted: cache.nextPos - C } });
      return null;
    },
    'catalog.list': () => [],
    'downloads.list': () => [],
    'chat.send': (args) => {
      const seq = cache.currentSeq + 1;
      const replyId = `r${seq}`;
      // Tokens at RATE per second, as a decode loop emits them.
      let due = performance.now();
      timer = setInterval(() => {
        const now = performance.now();
        while (due <= now) {
          for (const e of cache.step(seq)) emit(e);
          due += 1000 / RATE;
        }
      }, 4);
      return {
        seq,
        conversationId: CONVERSATION_ID,
        userMessage: { id: `u${seq + 1}`, role: 'user', content: String(args.content), createdAt: Date.now(), status: 'complete' },
        reply: { id: replyId, role: 'assistant', content: '', createdAt: Date.now(), status: 'streaming' },
      };
    },
  };
  return {
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    services: {
      async invoke(verb: unknown, args: unknown): Promise<ApiReply> {
        const answer = answers[String(verb)];
        if (!answer) return { ok: false, error: { code: 'not-found', message: `the benchmark does not answer ${String(verb)}` } };
        return { ok: true, result: answer((args ?? {}) as Record<string, unknown>) };
      },
      subscribe(listener: (event: AppEvent) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  };
}

interface FrameStats {
  readonly scenario: string;
  readonly frames: number;
  readonly fps: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Frames longer than 1/55 s (fewer than 55 fps while they last). */
  readonly slowFrames: number;
  /** `long-animation-frame` entries (frames over 50 ms) from the performance timeline. */
  readonly longAnimationFrames: number;
  readonly tokens: number;
  /** Canvas paints in the window and their durations (the work the panel adds per frame it paints). */
  readonly paints: number;
  readonly paintP50Ms: number;
  readonly paintP95Ms: number;
  readonly paintMaxMs: number;
}

/**
 * Runs in the page: animation-frame timestamps for `ms`, and the long animation frames the performance
 * timeline reports meanwhile. A string, because tsx would wrap a compiled function's inner functions in
 * a helper the page lacks.
 */
const FRAME_RECORDER = `async (ms) => {
  let long = 0;
  let observer = null;
  try {
    observer = new PerformanceObserver((list) => { long += list.getEntries().length; });
    observer.observe({ type: 'long-animation-frame', buffered: false });
  } catch {
    observer = null; // no Long Animation Frames API: rAF timestamps only
  }
  const stamps = [];
  await new Promise((resolve) => {
    const start = performance.now();
    const tick = (t) => {
      stamps.push(t);
      if (t - start < ms) requestAnimationFrame(tick);
      else resolve();
    };
    requestAnimationFrame(tick);
  });
  observer?.disconnect();
  return { stamps, long };
}`;

/** Records animation-frame timestamps and long animation frames in the page for `seconds`. */
async function measure(page: Page, scenario: string, seconds: number, tokensBefore: () => number): Promise<FrameStats> {
  const before = tokensBefore();
  await page.evaluate('window.__ouroCachePaintMs = []');
  const raw = (await page.evaluate(`(${FRAME_RECORDER})(${seconds * 1000})`)) as { stamps: number[]; long: number };
  const paints = ((await page.evaluate('window.__ouroCachePaintMs')) as number[]).sort((a, b) => a - b);
  const pq = (p: number) => paints[Math.min(paints.length - 1, Math.floor(p * paints.length))] ?? 0;
  const gaps = raw.stamps.slice(1).map((t, i) => t - raw.stamps[i]);
  const sorted = [...gaps].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  const span = raw.stamps.at(-1)! - raw.stamps[0];
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    scenario,
    frames: gaps.length,
    fps: round((gaps.length * 1000) / span),
    p50Ms: round(q(0.5)),
    p95Ms: round(q(0.95)),
    p99Ms: round(q(0.99)),
    maxMs: round(sorted.at(-1) ?? 0),
    slowFrames: gaps.filter((g) => g > 1000 / TARGET_FPS).length,
    longAnimationFrames: raw.long,
    tokens: tokensBefore() - before,
    paints: paints.length,
    paintP50Ms: round(pq(0.5)),
    paintP95Ms: round(pq(0.95)),
    paintMaxMs: round(paints.at(-1) ?? 0),
  };
}

async function main(): Promise<void> {
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) throw new Error(`the built renderer is missing at ${RENDERER_DIR}: run \`npm run build:renderer\` first`);
  if (!existsSync(values.chromium)) throw new Error(`No Chromium found${values.chromium ? ` at ${values.chromium}` : ''}: install one, set OURO_CHROMIUM or pass --chromium`);
  const cache = new SyntheticCache();
  const synthetic = syntheticServices(cache);
  const server = await startBridgeServer({ services: synthetic.services, staticDir: RENDERER_DIR });
  const browser = await chromium.launch({ executablePath: values.chromium, args: ['--headless', '--no-sandbox', '--disable-background-timer-throttling'] });
  const results: FrameStats[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(server.url);
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    const tokens = () => cache.nextPos;
    const box = page.getByRole('textbox', { name: 'Message' });
    // Each scenario streams a fresh reply, so every one renders a reply of the same length.
    const freshReply = async () => {
      const stop = page.getByRole('button', { name: 'Stop' });
      if (await stop.count()) {
        await stop.click();
        await page.getByRole('button', { name: 'Send' }).waitFor();
      }
      await box.fill('Go on, please.');
      await box.press('Enter');
      await stop.waitFor();
      // Warm-up: let the first frames of the stream settle.
      await page.waitForTimeout(500);
    };
    await freshReply();
    results.push(await measure(page, 'panel closed (baseline)', SECONDS, tokens));
    await page.getByRole('button', { name: 'Cache panel' }).click();
    await page.locator(`[data-testid="cache-panel"][data-capacity="${C}"]`).waitFor();
    for (const mode of ['Age', 'Message', 'Role'] as const) {
      await page.getByRole('radio', { name: mode, exact: true }).click();
      await freshReply();
      results.push(await measure(page, `panel open, colour by ${mode.toLowerCase()}`, SECONDS, tokens));
    }
    await freshReply();
    await page.getByTestId('cache-canvas').hover({ position: { x: 40, y: 60 } });
    results.push(await measure(page, 'panel open, slot tooltip shown', SECONDS, tokens));
  } finally {
    synthetic.stop();
    await browser.close();
    await server.close();
  }

  console.log(`\nCache panel frame rate: ${RATE} tokens/s into C = ${C} (S = ${S}, W = ${W}), ${SECONDS} s per scenario, headless Chromium 1280×800\n`);
  console.log(
    mdTable(
      ['scenario', 'tokens', 'frames', 'fps', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', `frames > ${(1000 / TARGET_FPS).toFixed(1)} ms`, 'long anim. frames', 'paints', 'paint p50/p95/max ms'],
      results.map((r) =>
        [r.scenario, r.tokens, r.frames, r.fps, r.p50Ms, r.p95Ms, r.p99Ms, r.maxMs, r.slowFrames, r.longAnimationFrames, r.paints, `${r.paintP50Ms} / ${r.paintP95Ms} / ${r.paintMaxMs}`].map(String),
      ),
    ),
  );
  const open = results.filter((r) => r.scenario.startsWith('panel open'));
  const worst = Math.min(...open.map((r) => r.fps));
  console.log(`\nLowest fps with the panel open: ${worst} (target ≥ ${TARGET_FPS}): ${worst >= TARGET_FPS ? 'met' : 'NOT met'}`);
  const load = machineInfo().loadAverage;
  console.log(`Load average now: ${load.join(', ')} on ${machineInfo().logicalCores} cores (frame rates fall on a busy machine; compare with the baseline row).`);
  await mkdir(join(RESULT, '..'), { recursive: true });
  await writeFile(
    RESULT,
    `${JSON.stringify({ machine: machineInfo(), params: { seconds: SECONDS, rate: RATE, sink: S, window: W, capacity: C, targetFps: TARGET_FPS }, results, lowestOpenFps: worst }, null, 2)}\n`,
  );
  console.log(`wrote ${RESULT}`);
}

await main();
