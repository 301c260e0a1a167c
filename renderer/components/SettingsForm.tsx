// The frame of a Settings tab's form: intro, error, fields, and Cancel / Save (or other words). Renderer.
import { useEffect, useRef, type FormEvent, type ReactNode } from 'react';

export interface SettingsFormProps {
  readonly formError: string | null;
  readonly saving: boolean;
  readonly onSubmit: (event: FormEvent) => void;
  readonly onCancel: () => void;
  readonly intro?: string;
  readonly extra?: ReactNode;
  /** Below the fields (Settings → Local server's status line). */
  readonly after?: ReactNode;
  /** The buttons' words: Cancel / Save by default. */
  readonly labels?: { readonly cancel: string; readonly submit: string; readonly submitting: string };
  readonly children: ReactNode;
}

const SAVE = { cancel: 'Cancel', submit: 'Save', submitting: 'Saving…' };

/** A settings tab's form: intro, the form's error, the fields, and the footer's buttons. */
export function SettingsForm({ formError, saving, onSubmit, onCancel, intro, extra, after, labels = SAVE, children }: SettingsFormProps) {
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
        {after}
      </div>
      <footer className="dialog-footer">
        {extra}
        <span className="spacer" />
        <button type="button" className="button" onClick={onCancel}>
          {labels.cancel}
        </button>
        <button type="submit" className="button button-primary" disabled={saving}>
          {saving ? labels.submitting : labels.submit}
        </button>
      </footer>
    </form>
  );
}
