// The settings form's fields (system prompt, sampling, cache, and for app defaults provider, 4-bit compute and theme),
// each labelled, with its hint and the schema's message when invalid. Shared by both settings tabs.
// Renderer.
import { useId, type ReactNode } from 'react';
import { PROVIDER_LABELS, type ProviderName } from '../../common/providers';
import type { AppInfo } from '../../common/contract';
import { FIELD_LABELS, resolvedAuto, type FieldErrors, type SettingsDraft, type SettingsField } from '../state/settingsForm';

export interface SettingsFieldsProps {
  readonly draft: SettingsDraft;
  readonly errors: FieldErrors;
  readonly onChange: (field: SettingsField, value: string) => void;
  /** `app`: every field holds a value. `override`: blank means "use the app setting" (shown as placeholder). */
  readonly mode: 'app' | 'override';
  /** The app settings, shown as placeholders of blank overrides. */
  readonly defaults?: SettingsDraft;
  readonly providers?: AppInfo['providers'];
  /** What `auto` came to for the open conversation and the loaded model (null: unknown or not auto). */
  readonly resolved?: { readonly sink: number | null; readonly window: number | null; readonly provider: string | null };
}

interface FieldProps {
  readonly label: string;
  readonly hint?: string;
  /** What the field's `auto` came to, e.g. "auto (252)". */
  readonly resolved?: string | null;
  readonly error?: string;
  readonly wide?: boolean;
  readonly children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
}

export function Field({ label, hint, resolved, error, wide, children }: FieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const resolvedId = `${id}-resolved`;
  const describedBy = [error ? errorId : null, resolved ? resolvedId : null, hint ? hintId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field ${wide ? 'is-wide' : ''} ${error ? 'has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, describedBy, invalid: error !== undefined })}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
      {resolved && (
        <p className="field-resolved" id={resolvedId} data-testid="resolved-auto">
          Now: {resolved}
        </p>
      )}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
    </div>
  );
}

const NUMBER_FIELDS: readonly { field: SettingsField; hint: string }[] = [
  { field: 'temperature', hint: '0 picks the likeliest token; higher is more varied (0–5).' },
  { field: 'topK', hint: 'Sample from the k likeliest tokens; 0 turns it off.' },
  { field: 'topP', hint: 'Nucleus sampling: the smallest set whose probability reaches p.' },
  { field: 'minP', hint: 'Drop tokens below this fraction of the top probability.' },
  { field: 'repetitionPenalty', hint: '1 is off; above 1 discourages repeats.' },
  { field: 'maxTokens', hint: 'Longest reply, in tokens.' },
];

export function SettingsFields({ draft, errors, onChange, mode, defaults, providers, resolved }: SettingsFieldsProps) {
  const autoOf = (field: 'sink' | 'window') => resolvedAuto(draft[field], mode === 'override' ? defaults?.[field] : undefined, resolved?.[field] ?? null);
  const placeholder = (field: SettingsField, fallback = '') =>
    mode === 'override' ? `Default: ${defaults?.[field] || fallback}` : fallback;
  const text = (field: SettingsField, fallback?: string) => (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => (
    <input
      id={ids.id}
      type="text"
      inputMode="decimal"
      autoComplete="off"
      spellCheck={false}
      value={draft[field]}
      placeholder={placeholder(field, fallback)}
      aria-describedby={ids.describedBy}
      aria-invalid={ids.invalid || undefined}
      onChange={(e) => onChange(field, e.target.value)}
    />
  );

  return (
    <div className="settings-fields">
      <Field
        label={FIELD_LABELS.systemPrompt}
        wide
        error={errors.systemPrompt}
        hint={
          mode === 'override'
            ? 'Blank uses the app default. The system prompt stays pinned in the model’s view for the whole conversation.'
            : 'Instructions the model sees first. They stay pinned in its view for the whole conversation.'
        }
      >
        {(ids) => (
          <textarea
            id={ids.id}
            rows={3}
            value={draft.systemPrompt}
            placeholder={mode === 'override' ? defaults?.systemPrompt || 'Default' : 'You are a helpful assistant.'}
            aria-describedby={ids.describedBy}
            aria-invalid={ids.invalid || undefined}
            onChange={(e) => onChange('systemPrompt', e.target.value)}
          />
        )}
      </Field>

      <fieldset className="settings-group">
        <legend>Sampling</legend>
        <div className="field-grid">
          {NUMBER_FIELDS.map(({ field, hint }) => (
            <Field key={field} label={FIELD_LABELS[field]} hint={hint} error={errors[field]}>
              {text(field)}
            </Field>
          ))}
          <Field
            label={FIELD_LABELS.seed}
            error={errors.seed}
            hint={mode === 'override' ? 'A whole number, or "random".' : 'A whole number for repeatable replies; blank for random.'}
          >
            {text('seed', 'random')}
          </Field>
        </div>
      </fieldset>

      <fieldset className="settings-group">
        <legend>Context cache</legend>
        <div className="field-grid">
          <Field label={FIELD_LABELS.sink} error={errors.sink} resolved={autoOf('sink')} hint='Tokens kept from the very start (the system prompt). A whole number, or "auto".'>
            {text('sink', 'auto')}
          </Field>
          <Field label={FIELD_LABELS.window} error={errors.window} resolved={autoOf('window')} hint='How many recent tokens the model sees. A whole number, or "auto".'>
            {text('window', 'auto')}
          </Field>
          <Field
            label={FIELD_LABELS.positions}
            error={errors.positions}
            hint="Cache: positions counted within what the model sees (StreamingLLM). Original: positions as written."
          >
            {(ids) => (
              <select
                id={ids.id}
                value={draft.positions}
                aria-describedby={ids.describedBy}
                aria-invalid={ids.invalid || undefined}
                onChange={(e) => onChange('positions', e.target.value)}
              >
                {mode === 'override' && <option value="">Default ({defaults?.positions || 'cache'})</option>}
                <option value="cache">Cache</option>
                <option value="original">Original</option>
              </select>
            )}
          </Field>
          <Field
            label={FIELD_LABELS.pinBudget}
            error={errors.pinBudget}
            hint='Most tokens of pinned messages the model keeps seeing, besides the window; they take memory only once pinned. A whole number up to the window, or "auto" (a quarter of it).'
          >
            {text('pinBudget', 'auto')}
          </Field>
        </div>
      </fieldset>

      {mode === 'app' && (
        <fieldset className="settings-group">
          <legend>App</legend>
          <div className="field-grid">
            <Field label={FIELD_LABELS.provider} error={errors.provider} hint="Where the model runs. Auto picks a hardware accelerator that works for the model (CUDA, DirectML, Core ML, or WebGPU on a real GPU, never a software one), else CPU.">
              {(ids) => (
                <select
                  id={ids.id}
                  value={draft.provider}
                  aria-describedby={ids.describedBy}
                  aria-invalid={ids.invalid || undefined}
                  onChange={(e) => onChange('provider', e.target.value)}
                >
                  <option value="auto">
                    {resolved?.provider ? `Auto (${PROVIDER_LABELS[resolved.provider as ProviderName] ?? resolved.provider})` : 'Auto'}
                  </option>
                  {(providers ?? [{ name: 'cpu', available: true }]).map((p) => (
                    <option key={p.name} value={p.name} title={p.reason}>
                      {PROVIDER_LABELS[p.name as ProviderName] ?? p.name}
                      {p.available ? '' : ' (not available)'}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field
              label={FIELD_LABELS.q4Compute}
              error={errors.q4Compute}
              hint="How 4-bit models multiply on CPU, from their next load. Int8 activations (as llama.cpp does) are faster and cost 0.1–0.3% perplexity; exact keeps them in fp32."
            >
              {(ids) => (
                <select
                  id={ids.id}
                  value={draft.q4Compute}
                  aria-describedby={ids.describedBy}
                  onChange={(e) => onChange('q4Compute', e.target.value)}
                >
                  <option value="int8">Int8 activations (faster)</option>
                  <option value="exact">Exact (fp32 activations)</option>
                </select>
              )}
            </Field>
            <Field label={FIELD_LABELS.theme} error={errors.theme}>
              {(ids) => (
                <select
                  id={ids.id}
                  value={draft.theme}
                  aria-describedby={ids.describedBy}
                  onChange={(e) => onChange('theme', e.target.value)}
                >
                  <option value="system">Follow the system</option>
                  <option value="light">Light</option>
                  <option value="dark">Dark</option>
                </select>
              )}
            </Field>
          </div>
        </fieldset>
      )}
    </div>
  );
}
