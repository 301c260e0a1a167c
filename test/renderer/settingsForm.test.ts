// The settings form: drafts round-trip, and invalid fields carry the schemas' messages under the right
// field, for app defaults and conversation overrides alike. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../../common/settingsSchema';
import type { AppState } from '../../renderer/state/appState';
import { selectResolvedProvider, selectResolvedSink, selectResolvedWindow } from '../../renderer/state/selectors';
import { blankDraft, draftFromOverrides, draftFromSettings, overridesFromDraft, patchFromDraft, resolvedAuto } from '../../renderer/state/settingsForm';

describe('app settings form', () => {
  it('turns the default settings back into an equivalent patch', () => {
    const defaults = defaultSettings();
    const result = patchFromDraft(draftFromSettings(defaults));
    expect(result).toEqual({
      ok: true,
      value: {
        systemPrompt: defaults.systemPrompt,
        sampling: defaults.sampling,
        cache: defaults.cache,
        provider: defaults.provider,
        q4Compute: 'int8',
        theme: defaults.theme,
      },
    });
  });

  it('reads numbers, "auto" and a blank seed', () => {
    const draft = { ...draftFromSettings(defaultSettings()), temperature: ' 0.2 ', seed: '', sink: '4', window: 'AUTO', maxTokens: '256' };
    const result = patchFromDraft(draft);
    expect(result.ok && result.value.sampling).toMatchObject({ temperature: 0.2, seed: null, maxTokens: 256 });
    expect(result.ok && result.value.cache).toEqual({ sink: 4, window: 'auto', positions: 'cache', pinBudget: 'auto' });
  });

  it('shows the schema message of each invalid field', () => {
    const draft = {
      ...draftFromSettings(defaultSettings()),
      temperature: '-1',
      topK: '2.5',
      topP: '0',
      maxTokens: 'lots',
      seed: '-3',
      sink: 'few',
      window: '0',
      repetitionPenalty: '',
    };
    const result = patchFromDraft(draft);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual({
      temperature: 'Temperature must be >= 0',
      topK: 'Top-k must be a whole number',
      topP: 'Top-p must be > 0',
      maxTokens: 'Max tokens must be a number',
      repetitionPenalty: 'Repetition penalty is required',
      seed: 'Seed must be >= 0',
      sink: 'Sink tokens must be "auto" or a whole number >= 0',
      window: 'Window tokens must be "auto" or a whole number >= 1',
    });
  });

  it('rejects an unknown provider with the schema message', () => {
    const result = patchFromDraft({ ...draftFromSettings(defaultSettings()), provider: 'tpu' });
    expect(!result.ok && result.errors.provider).toBe('Provider must be one of auto, cpu, webgpu, cuda, dml, coreml');
  });

  it('takes exact 4-bit compute and names the field in its message otherwise', () => {
    const exact = patchFromDraft({ ...draftFromSettings({ ...defaultSettings(), q4Compute: 'exact' }) });
    expect(exact.ok && exact.value.q4Compute).toBe('exact');
    const result = patchFromDraft({ ...draftFromSettings(defaultSettings()), q4Compute: 'fp16' });
    expect(!result.ok && result.errors.q4Compute).toBe('4-bit compute must be int8 or exact');
  });
});

describe('conversation overrides form', () => {
  it('is null when every field is blank', () => {
    expect(overridesFromDraft(blankDraft())).toEqual({ ok: true, value: null });
  });

  it('keeps only the fields that are set', () => {
    const draft = { ...blankDraft(), temperature: '1.2', window: '64', positions: 'original', seed: 'random' };
    expect(overridesFromDraft(draft)).toEqual({
      ok: true,
      value: { sampling: { temperature: 1.2, seed: null }, cache: { window: 64, positions: 'original' } },
    });
  });

  it('round-trips overrides through the draft', () => {
    const overrides = { systemPrompt: 'Be brief.', sampling: { topK: 5, seed: 42 }, cache: { sink: 'auto' as const } };
    expect(overridesFromDraft(draftFromOverrides(overrides))).toEqual({ ok: true, value: overrides });
  });

  it('reports invalid overrides per field', () => {
    const result = overridesFromDraft({ ...blankDraft(), minP: '2', sink: '-1' });
    expect(!result.ok && result.errors).toEqual({ minP: 'Min-p must be <= 1', sink: 'Sink tokens must be "auto" or a whole number >= 0' });
  });
});

describe("what 'auto' came to", () => {
  it('reads "auto (252)" where the field (or the default a blank override falls back to) is auto', () => {
    expect(resolvedAuto('auto', undefined, 252)).toBe('auto (252)');
    expect(resolvedAuto(' Auto ', undefined, 1020)).toBe('auto (1,020)');
    expect(resolvedAuto('', 'auto', 36)).toBe('auto (36)');
    expect(resolvedAuto('100', 'auto', 36)).toBeNull();
    expect(resolvedAuto('', '100', 36)).toBeNull();
    expect(resolvedAuto('auto', undefined, null)).toBeNull();
  });

  it("takes the engine's sink and window for the open conversation where its effective setting is auto", () => {
    const state = (over: Partial<AppState>) =>
      ({ settings: defaultSettings(), active: null, cacheStatus: 'ready', cacheMirror: { loaded: true, sink: 36, window: 988 }, currentModel: null, ...over }) as unknown as AppState;
    expect([selectResolvedSink(state({})), selectResolvedWindow(state({}))]).toEqual([36, 988]);
    // This conversation sets its own window: only the sink is auto there.
    const own = state({ active: { settings: { cache: { window: 988 } } } as AppState['active'] });
    expect([selectResolvedSink(own), selectResolvedWindow(own)]).toEqual([36, null]);
    expect(selectResolvedSink(state({ cacheStatus: 'loading' }))).toBeNull();
    // The provider: what a load with provider auto chose (it leaves a note saying why), else nothing.
    const model = { provider: 'cpu', providerNote: 'Auto: no hardware accelerator found; running on CPU.' };
    expect(selectResolvedProvider(state({ currentModel: model as AppState['currentModel'] }))).toBe('cpu');
    expect(selectResolvedProvider(state({ currentModel: { ...model, providerNote: null } as AppState['currentModel'] }))).toBeNull();
  });
});
