// A settings form's state, shared by the Settings tabs: the draft, per-field errors, and a submit that
// validates, saves and reports. Renderer.
import { useState, type FormEvent } from 'react';
import type { ApiError } from '../../common/contract';
import { errorText } from '../state/modelsSlice';

/** A parse of a draft: the value to save, or a message per field. */
export type DraftResult<T, F extends PropertyKey> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: Partial<Record<F, string>> };

/**
 * The draft, per-field errors, and a submit that validates with `parse`, saves with `save` and calls
 * `onDone` once it is stored (errors stay in the form).
 */
export function useSettingsForm<D extends object, T>(
  initial: D,
  parse: (draft: Readonly<D>) => DraftResult<T, keyof D>,
  save: (value: T) => Promise<ApiError | null>,
  onDone: () => void,
) {
  const [draft, setDraft] = useState(initial);
  const [errors, setErrors] = useState<Partial<Record<keyof D, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const onChange = <K extends keyof D>(field: K, value: D[K]) => {
    setDraft((d) => ({ ...d, [field]: value }));
    setErrors((e) => {
      const { [field]: _dropped, ...rest } = e;
      return rest as Partial<Record<keyof D, string>>;
    });
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
