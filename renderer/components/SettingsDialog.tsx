// The Settings dialog: app defaults (`settings.update`) and the open conversation's overrides
// (`conversations.updateSettings`) in two tabs, validated with the storage schemas before saving.
// Renderer.
import { useEffect, useId, useMemo, useRef, useState, type FormEvent, type ReactNode } from 'react';
import type { ApiError } from '../../common/contract';
import { errorText } from '../state/modelsSlice';
import {
  selectActiveId,
  selectActiveOverrides,
  selectAppInfo,
  selectResolvedProvider,
  selectResolvedSink,
  selectResolvedWindow,
  selectSettings,
  selectSettingsDialog,
} from '../state/selectors';
import {
  draftFromOverrides,
  draftFromSettings,
  overridesFromDraft,
  patchFromDraft,
  type FieldErrors,
  type FormResult,
  type SettingsDraft,
  type SettingsField,
} from '../state/settingsForm';
import { useAppStore, useStoreApi } from '../state/storeContext';
import type { SettingsTab } from '../state/uiSlice';
import { Dialog } from './Dialog';
import { SettingsFields, type SettingsFieldsProps } from './SettingsFields';

/** What `auto` came to for the open conversation and the loaded model. */
function useResolvedAuto(): SettingsFieldsProps['resolved'] {
  const sink = useAppStore(selectResolvedSink);
  const window = useAppStore(selectResolvedWindow);
  const provider = useAppStore(selectResolvedProvider);
  return useMemo(() => ({ sink, window, provider }), [sink, window, provider]);
}

export function SettingsDialog() {
  const store = useStoreApi();
  const tab = useAppStore(selectSettingsDialog);
  const activeId = useAppStore(selectActiveId);
  const close = () => store.getState().closeSettings();
  return (
    <Dialog open={tab !== null} title="Settings" onClose={close} className="dialog-settings">
      {tab !== null && <SettingsTabs tab={tab} hasConversation={activeId !== null} />}
    </Dialog>
  );
}

function SettingsTabs({ tab, hasConversation }: { readonly tab: SettingsTab; readonly hasConversation: boolean }) {
  const store = useStoreApi();
  const baseId = useId();
  const tabs: readonly { id: SettingsTab; label: string; disabled: boolean }[] = [
    { id: 'app', label: 'App defaults', disabled: false },
    { id: 'conversation', label: 'This conversation', disabled: !hasConversation },
  ];
  const current = tab === 'conversation' && !hasConversation ? 'app' : tab;
  return (
    <>
      <div className="tabs" role="tablist" aria-label="Settings scope">
        {tabs.map((t, i) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`${baseId}-${t.id}`}
            aria-selected={current === t.id}
            aria-controls={`${baseId}-${t.id}-panel`}
            tabIndex={current === t.id ? 0 : -1}
            disabled={t.disabled}
            className="tab"
            onClick={() => store.getState().openSettings(t.id)}
            onKeyDown={(e) => {
              if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
              const next = tabs[(i + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
              if (next.disabled) return;
              store.getState().openSettings(next.id);
              document.getElementById(`${baseId}-${next.id}`)?.focus();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${baseId}-${current}-panel`} aria-labelledby={`${baseId}-${current}`} className="tab-panel">
        {current === 'app' ? <AppSettingsForm /> : <ConversationSettingsForm />}
      </div>
    </>
  );
}

/**
 * A settings form's state: the draft, per-field errors, and a submit that validates with `parse`, saves
 * with `save` and calls `onDone` once it is stored (errors stay in the form).
 */
function useSettingsForm<T>(
  initial: SettingsDraft,
  parse: (draft: Readonly<SettingsDraft>) => FormResult<T>,
  save: (value: T) => Promise<ApiError | null>,
  onDone: () => void,
) {
  const [draft, setDraft] = useState(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const onChange = (field: SettingsField, value: string) => {
    setDraft((d) => ({ ...d, [field]: value }));
    setErrors(({ [field]: _dropped, ...rest }) => rest);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const result = parse(draft);
    if (!result.ok) {
      setErrors(result.errors);
      setFormError('Some settings need fixing; see the messages below them.');
      return;
    }
    setSaving(true);
    setFormError(null);
    void save(result.value).then((error) => {
      setSaving(false);
      if (error) setFormError(errorText(error));
      else onDone();
    });
  };
  return { draft, setDraft, errors, setErrors, onChange, formError, saving, submit };
}

function AppSettingsForm() {
  const store = useStoreApi();
  const settings = useAppStore(selectSettings);
  const appInfo = useAppStore(selectAppInfo);
  const initial = useMemo(() => (settings ? draftFromSettings(settings) : null), [settings]);
  if (!initial) return <p className="dialog-body">Settings are not loaded yet.</p>;
  return <AppSettingsFormBody initial={initial} providers={appInfo?.providers} onDone={() => store.getState().closeSettings()} />;
}

function AppSettingsFormBody({
  initial,
  providers,
  onDone,
}: {
  readonly initial: SettingsDraft;
  readonly providers: Parameters<typeof SettingsFields>[0]['providers'];
  readonly onDone: () => void;
}) {
  const store = useStoreApi();
  const resolved = useResolvedAuto();
  const { draft, errors, onChange, formError, saving, submit } = useSettingsForm(
    initial,
    patchFromDraft,
    (patch) => store.getState().saveSettings(patch),
    onDone,
  );
  return (
    <SettingsForm formError={formError} saving={saving} onSubmit={submit} onCancel={onDone}>
      <SettingsFields draft={draft} errors={errors} onChange={onChange} mode="app" providers={providers} resolved={resolved} />
    </SettingsForm>
  );
}

function ConversationSettingsForm() {
  const store = useStoreApi();
  const activeId = useAppStore(selectActiveId);
  const overrides = useAppStore(selectActiveOverrides);
  const settings = useAppStore(selectSettings);
  const defaults = useMemo(() => (settings ? draftFromSettings(settings) : undefined), [settings]);
  const resolved = useResolvedAuto();
  const done = () => store.getState().closeSettings();
  const { draft, setDraft, errors, setErrors, onChange, formError, saving, submit } = useSettingsForm(
    draftFromOverrides(overrides),
    overridesFromDraft,
    (value) => (activeId === null ? Promise.resolve(null) : store.getState().saveConversationSettings(activeId, value)),
    done,
  );
  if (activeId === null) return null;
  return (
    <SettingsForm
      formError={formError}
      saving={saving}
      onSubmit={submit}
      onCancel={done}
      intro="Settings for this conversation only. Leave a field blank to use the app default."
      extra={
        <button
          type="button"
          className="button button-quiet"
          onClick={() => {
            setDraft(draftFromOverrides(undefined));
            setErrors({});
          }}
        >
          Use app defaults
        </button>
      }
    >
      <SettingsFields draft={draft} errors={errors} onChange={onChange} mode="override" defaults={defaults} resolved={resolved} />
    </SettingsForm>
  );
}

interface SettingsFormProps {
  readonly formError: string | null;
  readonly saving: boolean;
  readonly onSubmit: (event: FormEvent) => void;
  readonly onCancel: () => void;
  readonly intro?: string;
  readonly extra?: ReactNode;
  readonly children: ReactNode;
}

function SettingsForm({ formError, saving, onSubmit, onCancel, intro, extra, children }: SettingsFormProps) {
  const ref = useRef<HTMLFormElement>(null);
  // After a failed save, take the user to the first field that needs fixing.
  useEffect(() => {
    if (formError) ref.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [formError]);
  return (
    <form ref={ref} className="settings-form" onSubmit={onSubmit} noValidate>
      <div className="dialog-body">
        {intro && <p className="settings-intro">{intro}</p>}
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}
        {children}
      </div>
      <footer className="dialog-footer">
        {extra}
        <span className="spacer" />
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={saving}>
          {saving ? 'Saving…' : 'Save'}
        </button>
      </footer>
    </form>
  );
}
