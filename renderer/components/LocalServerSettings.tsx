// Settings → Local server: turn the OpenAI-compatible server on or off, its interface, port, API key and
// cached conversations, a copy button for the base URL, and a status line while requests run. Renderer.
import { useEffect } from 'react';
import type { LocalServerStatus } from '../../common/contract';
import { SettingsPatchSchema, type ServerSettings } from '../../common/settingsSchema';
import { formatBytes } from '../format';
import { selectSettings } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { CopyButton } from './CopyButton';
import { Field } from './SettingsFields';
import { SettingsForm } from './SettingsForm';
import { useSettingsForm, type DraftResult } from './useSettingsForm';

type Draft = { enabled: boolean; host: string; port: string; apiKey: string; streams: string };
type DraftField = Exclude<keyof Draft, 'enabled'>;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function draftOf(server: Readonly<ServerSettings>): Draft {
  return { enabled: server.enabled, host: server.host, port: String(server.port), apiKey: server.apiKey ?? '', streams: String(server.streams) };
}

/** The patch the draft describes, or a message per field (the settings schema's). */
function parseDraft(draft: Readonly<Draft>): DraftResult<ServerSettings, keyof Draft> {
  const whole = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : s);
  const server = {
    enabled: draft.enabled,
    host: draft.host.trim(),
    port: whole(draft.port),
    apiKey: draft.apiKey === '' ? null : draft.apiKey,
    streams: whole(draft.streams),
  };
  const parsed = SettingsPatchSchema.shape.server.safeParse(server);
  const errors: Partial<Record<DraftField, string>> = {};
  if (!parsed.success) for (const issue of parsed.error.issues) errors[issue.path[0] as DraftField] ??= issue.message;
  if (server.enabled && !LOOPBACK.has(server.host) && !server.apiKey) errors.apiKey = 'An API key is required when the server listens beyond this machine.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, value: server as ServerSettings };
}

export function LocalServerSettings() {
  const store = useStoreApi();
  const settings = useAppStore(selectSettings);
  const status = useAppStore((s) => s.serverStatus);
  useEffect(() => void store.getState().loadServerStatus(), [store]);
  if (!settings) return <p className="dialog-body">Settings are not loaded yet.</p>;
  return <LocalServerForm initial={draftOf(settings.server)} status={status} onDone={() => store.getState().closeSettings()} />;
}

function LocalServerForm({ initial, status, onDone }: { readonly initial: Draft; readonly status: LocalServerStatus | null; readonly onDone: () => void }) {
  const store = useStoreApi();
  // The dialog stays open after Apply, so the status line shows whether the server came up.
  const { draft, errors, onChange, formError, saving, submit } = useSettingsForm(
    initial,
    parseDraft,
    (server) => store.getState().saveSettings({ server }),
    () => undefined,
  );
  const text = (field: DraftField, label: string, hint: string, type = 'text') => (
    <Field label={label} hint={hint} error={errors[field]}>
      {({ id, describedBy, invalid }) => (
        <input id={id} type={type} value={draft[field]} aria-describedby={describedBy} aria-invalid={invalid} onChange={(e) => onChange(field, e.target.value)} />
      )}
    </Field>
  );
  return (
    <SettingsForm
      formError={formError}
      saving={saving}
      onSubmit={submit}
      onCancel={onDone}
      intro="An OpenAI-compatible API for editors, scripts and agents, on the model loaded here. Each conversation a client sends keeps its own ring cache, so resending the whole conversation every turn costs only the new messages."
      after={<ServerStatusLine status={status} />}
      labels={{ cancel: 'Close', submit: 'Apply', submitting: 'Applying…' }}
    >
      <label className="checkbox-row">
        <input type="checkbox" checked={draft.enabled} onChange={(e) => onChange('enabled', e.target.checked)} /> Run the local server
      </label>
      <div className="field-grid">
        {text('host', 'Interface', '127.0.0.1 keeps it on this machine; another address needs an API key.')}
        {text('port', 'Port', '1–65535.', 'number')}
        {text('apiKey', 'API key', 'Clients send it as a Bearer token; blank: none (loopback only).', 'password')}
        {text('streams', 'Cached conversations', 'Each holds a whole cache in memory.', 'number')}
      </div>
    </SettingsForm>
  );
}

/** What the server is doing, in one line, with the base URL to copy while it runs. */
export function serverStatusText(status: LocalServerStatus | null): string {
  if (!status || status.state === 'off') return 'The server is off.';
  if (status.state === 'error') return `The server could not start: ${status.error ?? 'unknown error'}.`;
  const work = status.active === 0 ? 'idle' : `answering ${status.active} request${status.active === 1 ? '' : 's'}`;
  const memory = status.kvBytes > 0 ? `, ${formatBytes(status.kvBytes)} of cache` : '';
  return `Serving at ${status.url} — ${work}; ${status.served} answered; ${status.streams} conversation${status.streams === 1 ? '' : 's'} cached${memory}.`;
}

function ServerStatusLine({ status }: { readonly status: LocalServerStatus | null }) {
  return (
    <p className="server-status" role="status" aria-live="polite">
      {serverStatusText(status)}
      {status?.url && <CopyButton label="Copy base URL" getText={() => status.url ?? ''} showLabel />}
    </p>
  );
}
