// The command-line tools as a user runs them (child processes through tsx): JSON event lines, usage
// errors, and — where ../shared/models exists — the real trained stories260K model.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeContinuation } from '../../main/engine/text/continuation';
import { TextTokenizer } from '../../main/engine/text/tokenizer';
import { ensureFixture, TINY } from '../fixtures/llamaFixture';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const stories = fileURLToPath(new URL('../../../shared/models/stories260K', import.meta.url));
const storiesSamples = fileURLToPath(new URL('../../../shared/models/reference/stories260K.greedy-samples.json', import.meta.url));
const storiesText = fileURLToPath(new URL('../../../shared/data/tinystories-valid-head.txt', import.meta.url));
const hasShared = existsSync(stories) && existsSync(storiesSamples);

async function cli(script: 'chat' | 'eval', args: string[]) {
  try {
    const { stdout, stderr } = await run(tsx, [`main/cli/${script}.ts`, ...args], { cwd: root, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `npm run chat` with `input` piped to stdin (one user turn a line). */
function chatWithInput(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, ['main/cli/chat.ts', ...args], { cwd: root, timeout: 120_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

type Line = { type: string; [k: string]: unknown };
const lines = (stdout: string): Line[] => stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);

describe('npm run chat', () => {
  let fixture: string;
  beforeAll(async () => {
    fixture = (await ensureFixture('tiny')).dir;
  });

  it('prints one JSON object per token and a done line', async () => {
    const { code, stdout } = await cli('chat', ['--model', fixture, '--prompt', 'hello', '--max-tokens', '12', '--seed', '3', '--json', '--sink', '4', '--window', '16']);
    expect(code).toBe(0);
    const out = lines(stdout);
    const tokens = out.filter((l) => l.type === 'token');
    expect(tokens.length).toBeGreaterThan(0);
    for (const t of tokens) expect(Object.keys(t).sort()).toEqual(['id', 'pos', 'slot', 'text', 'type']);
    const done = out.at(-1)!;
    expect(done.type).toBe('done');
    expect(['eos', 'max', 'stop']).toContain(done.reason);
    expect((done.stats as { decodeTokens: number }).decodeTokens).toBeGreaterThan(0);
  });

  it('--help gives one line per option with its default', async () => {
    const { code, stdout } = await cli('chat', ['--help']);
    expect(code).toBe(0);
    for (const option of ['--model', '--prompt', '--system', '--sink', '--window', '--positions', '--max-tokens', '--temperature', '--top-k', '--top-p', '--min-p', '--repetition-penalty', '--seed', '--greedy', '--raw', '--provider', '--q4-compute', '--json']) {
      expect(stdout.split('\n').filter((line) => line.trimStart().startsWith(`${option} `)), option).toHaveLength(1);
    }
    expect(stdout).toMatch(/--max-tokens N\s+longest reply in tokens \(default: 512, ended at a word's end, at most 576\)/);
    expect(stdout).toMatch(/--temperature T\s+.*\(default: 0\.7\)/);
  });

  it('samples with a random seed unless --seed is given (the engine default is a fixed one)', async () => {
    const reply = async (...extra: string[]) => {
      const { stdout } = await cli('chat', ['--model', fixture, '--prompt', 'hello', '--max-tokens', '24', '--json', ...extra]);
      return lines(stdout).filter((l) => l.type === 'token').map((l) => l.id);
    };
    const [a, b] = await Promise.all([reply(), reply()]);
    expect(a).not.toEqual(b);
  });

  it('without --max-tokens, ends a reply at the end of the word it is in once it has 512 tokens', async () => {
    // A reply that never ends by itself, so only the length ends it.
    const endless = (await ensureFixture('tiny-endless')).dir;
    const reply = async (...extra: string[]) => {
      const { stdout, stderr } = await cli('chat', ['--model', endless, '--prompt', 'hello', '--seed', '7', '--json', ...extra]);
      const out = lines(stdout);
      return { texts: out.filter((l) => l.type === 'token').map((l) => l.text as string), done: out.at(-1)!, stderr };
    };
    const [byDefault, longer] = await Promise.all([reply(), reply('--max-tokens', '700')]);
    expect(byDefault.done).toMatchObject({ type: 'done', reason: 'max' });
    const n = byDefault.texts.length;
    expect(n).toBeGreaterThanOrEqual(512);
    expect(n).toBeLessThan(576);
    // The same reply, cut where the next token opens a new word and nowhere earlier past 512.
    expect(byDefault.texts).toEqual(longer.texts.slice(0, n));
    expect(longer.texts[n]).toMatch(/^\s/);
    expect(longer.texts.slice(512, n).filter((t) => /^\s/.test(t))).toEqual([]);
  });

  it('--attention adds one event per forward pass: the sinks\' share overall and per layer, the most-attended slots', async () => {
    const S = 4;
    const W = 16;
    const { code, stdout } = await cli('chat', ['--model', fixture, '--prompt', 'hello there', '--max-tokens', '30', '--seed', '3', '--json', '--attention', '--sink', String(S), '--window', String(W)]);
    expect(code).toBe(0);
    const out = lines(stdout);
    const events = out.filter((l) => l.type === 'attention') as unknown as { pos: number; tokens: number; sinkShare: number; layerSinkShare: number[]; top: { slot: number; pos: number; mass: number }[] }[];
    const tokens = out.filter((l) => l.type === 'token');
    // The prompt in one pass, then one pass per sampled token but the last (its logits end the reply).
    expect(events.length).toBeGreaterThanOrEqual(tokens.length);
    for (const e of events) {
      expect(e.sinkShare).toBeGreaterThan(0);
      expect(e.sinkShare).toBeLessThanOrEqual(1);
      expect(e.layerSinkShare).toHaveLength(TINY.layers);
      expect(e.top.length).toBeGreaterThan(0);
      for (let i = 1; i < e.top.length; i++) expect(e.top[i].mass).toBeLessThanOrEqual(e.top[i - 1].mass);
      for (const t of e.top) expect(t.slot).toBeLessThan(S + W);
    }
    const noJson = await cli('chat', ['--model', fixture, '--prompt', 'x', '--attention']);
    expect(noJson.code).toBe(2);
    expect(noJson.stderr).toContain('pass --json too');
  });

  it('rejects bad options with a usage error and exit code 2', async () => {
    const bad = await cli('chat', ['--model', fixture, '--prompt', 'x', '--positions', 'sideways']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--positions must be cache or original');
    const badCache = await cli('chat', ['--model', fixture, '--prompt', 'x', '--window', '0']);
    expect(badCache.code).toBe(2);
    expect(badCache.stderr).toMatch(/window/i);
  });

  it('--q4-compute exact gives a 4-bit model fp32 activations: other per-token losses than the int8 default; other values are usage errors', async () => {
    const q4 = (await ensureFixture('tiny-q4')).dir;
    const text = join(mkdtempSync(join(tmpdir(), 'ouro-q4-')), 'text.txt');
    writeFileSync(text, 'hello there, how are you today? fine thanks, and you?');
    const nlls = async (...extra: string[]) => {
      const { code, stdout } = await cli('eval', ['--model', q4, '--text', text, '--sink', '4', '--window', '16', '--json', ...extra]);
      expect(code).toBe(0);
      return lines(stdout).filter((l) => l.type === 'nll').map((l) => l.nll as number);
    };
    const [int8, exact, int8Named] = await Promise.all([nlls(), nlls('--q4-compute', 'exact'), nlls('--q4-compute', 'int8')]);
    expect(int8).toEqual(int8Named);
    expect(exact).toHaveLength(int8.length);
    expect(Math.max(...exact.map((x, i) => Math.abs(x - int8[i])))).toBeGreaterThan(1e-3);
    const bad = await cli('chat', ['--model', q4, '--prompt', 'x', '--q4-compute', 'fp16']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--q4-compute must be int8 or exact');
  });

  it('reports a broken model folder and exits 1', async () => {
    const { code, stderr } = await cli('chat', ['--model', '/nonexistent/model', '--prompt', 'x']);
    expect(code).toBe(1);
    expect(stderr).toContain('/nonexistent/model');
  });
});

describe.skipIf(!hasShared)('stories260K (../shared/models; skipped where it is absent)', () => {
  const samples = hasShared
    ? (JSON.parse(readFileSync(storiesSamples, 'utf8')) as { samples: { prompt: string; new_ids: number[]; text: string }[] }).samples
    : [];

  it('greedy --raw generation reproduces llama2.c’s reference ids and text', async () => {
    const sample = samples[0];
    const { code, stdout } = await cli('chat', ['--model', stories, '--raw', '--greedy', '--prompt', sample.prompt, '--max-tokens', String(sample.new_ids.length), '--json']);
    expect(code).toBe(0);
    const out = lines(stdout);
    const ids = out.filter((l) => l.type === 'token' && (l.id as number) >= 0).map((l) => l.id);
    expect(ids).toEqual(sample.new_ids);
    const text = out.filter((l) => l.type === 'token').map((l) => l.text).join('');
    expect(sample.prompt + text).toBe(sample.text);
  });

  it('three piped turns: turns 2 and 3 feed only their own line plus the template\'s joiner, re-processing nothing', async () => {
    const turns = ['Lily had a red ball.', 'She gave it to Tom.', 'They played all day.'];
    const { code, stdout } = await chatWithInput(['--model', stories, '--json', '--greedy', '--max-tokens', '40'], `${turns.join('\n')}\n`);
    expect(code).toBe(0);
    const done = lines(stdout).filter((l) => l.type === 'done') as unknown as { reason: string; stats: { prefillTokens: number; reprocessedTokens: number } }[];
    expect(done).toHaveLength(3);
    const read = (file: string) => JSON.parse(readFileSync(`${stories}/${file}`, 'utf8')) as unknown;
    const tokenizer = TextTokenizer.fromObjects(read('tokenizer.json'), read('tokenizer_config.json'));
    // Turn 1: the template's "<s>" + the line.
    expect(done[0].stats).toMatchObject({ prefillTokens: tokenizer.encode(`<s>${turns[0]}`, { addSpecialTokens: false }).length, reprocessedTokens: 0 });
    for (const t of [1, 2]) {
      // The template joins messages with a space; a reply cut by --max-tokens still has its last sampled
      // token to feed, once, before the joiner.
      const own = encodeContinuation(tokenizer, ` ${turns[t]}`).length + (done[t - 1].reason === 'max' ? 1 : 0);
      expect(done[t].stats).toMatchObject({ prefillTokens: own, reprocessedTokens: 0 });
    }
  });

  it('cache and original positions agree while within the 512 trained positions', async () => {
    const args = ['--model', stories, '--raw', '--greedy', '--prompt', 'Once upon a time', '--max-tokens', '240', '--sink', '4', '--window', '252', '--json'];
    const cacheMode = lines((await cli('chat', [...args, '--positions', 'cache'])).stdout);
    const originalMode = lines((await cli('chat', [...args, '--positions', 'original'])).stdout);
    const ids = (out: Line[]) => out.filter((l) => l.type === 'token').map((l) => l.id);
    expect(ids(cacheMode).length).toBeGreaterThan(100);
    expect(ids(cacheMode)).toEqual(ids(originalMode));
  });

  it.skipIf(!existsSync(storiesText))('streaming perplexity stays low past the window in cache mode', async () => {
    const run = async (positions: string) => {
      const { code, stdout } = await cli('eval', ['--model', stories, '--text', storiesText, '--sink', '4', '--window', '60', '--positions', positions, '--max-tokens', '1500', '--json']);
      expect(code).toBe(0);
      const done = lines(stdout).at(-1)!;
      expect(done.type).toBe('done');
      expect(done.tokens).toBe(1500);
      return done.ppl as number;
    };
    const ppl = await run('cache');
    expect(ppl).toBeGreaterThan(1);
    expect(ppl).toBeLessThan(12);
  });

  it.skipIf(!existsSync(storiesText))('eval --attention: each scored step says how much attention its sinks took, and the run its mean', async () => {
    const { code, stdout } = await cli('eval', ['--model', stories, '--text', storiesText, '--sink', '4', '--window', '60', '--max-tokens', '200', '--json', '--attention']);
    expect(code).toBe(0);
    const out = lines(stdout);
    const steps = out.filter((l) => l.type === 'nll') as unknown as { sinkShare: number; layerSinkShare: number[] }[];
    expect(steps).toHaveLength(200);
    // The first step's query sees only itself, at slot 0: a sink.
    expect(steps[0].sinkShare).toBeCloseTo(1, 5);
    const mean = (out.at(-1)!.meanSinkShare as { all: number; layers: number[] });
    expect(mean.layers).toHaveLength(5);
    expect(mean.all).toBeCloseTo(steps.reduce((a, s) => a + s.sinkShare, 0) / steps.length, 9);
    const refused = await cli('eval', ['--model', stories, '--text', storiesText, '--attention', '--recompute']);
    expect(refused.code).toBe(2);
  });
});
