// The Settings dialog: app defaults (`settings.update`) and the open conversation's overrides
// (`conversations.updateSettings`) in two tabs, validated with the storage schemas before saving.
// Renderer.
import { useId, useMemo } from 'react';
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
  type SettingsDraft,
} from '../state/settingsForm';
import { useAppStore, useStoreApi } from '../state/storeContext';
import type { SettingsTab } from '../state/uiSlice';
import { Dialog } from './Dialog';
import { LocalServerSettings } from './LocalServerSettings';
import { SettingsFields, type SettingsFieldsProps } from './SettingsFields';
import { SettingsForm } from './SettingsForm';
import { useSettingsForm } from './useSettingsForm';

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
    { id: 'server', label: 'Local server', disabled: false },
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
        {current === 'app' ? <AppSettingsForm /> : current === 'server' ? <LocalServerSettings /> : <ConversationSettingsForm />}
      </div>
    </>
  );
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
