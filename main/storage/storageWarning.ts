// Warnings the storage layer reports instead of failing: data it recovered, repaired or set aside.
// Runs in the main process (storage); plain Node, no electron.

/**
 * Something storage handled on its own that the user may want to know about. Each `message` is
 * written for the user and says what happened to their data.
 */
export type StorageWarning = WarningBase &
  (
    | { readonly kind: 'settings-corrupt'; readonly backupPath: string; readonly lost: readonly string[] }
    | { readonly kind: 'settings-invalid-field'; readonly path: string }
    | { readonly kind: 'conversation-tail-dropped'; readonly droppedBytes: number }
    | { readonly kind: 'snapshot-invalid' }
    | { readonly kind: 'stream-flush-failed' }
  );

/** What reading the settings file can report. */
export type SettingsWarning = Extract<StorageWarning, { kind: 'settings-corrupt' | 'settings-invalid-field' }>;

interface WarningBase {
  /** The file concerned. */
  readonly file: string;
  readonly message: string;
}

/** Receives storage warnings as they happen (for a log or a toast). */
export type StorageWarningListener = (warning: StorageWarning) => void;

