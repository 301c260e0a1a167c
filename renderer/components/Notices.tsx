// Toasts for `notice` events and the app's own messages. Info and warnings fade after a while; errors
// stay until dismissed. Renderer.
import { useEffect } from 'react';
import type { Notice } from '../state/uiSlice';
import { selectNotices } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { CloseIcon } from './icons';

const LIFETIME_MS: Record<Notice['level'], number | null> = { info: 6_000, warning: 12_000, error: null };

export function Notices() {
  const notices = useAppStore(selectNotices);
  return (
    <div className="notices" aria-label="Notifications" role="region">
      {notices.map((notice) => (
        <Toast key={notice.id} notice={notice} />
      ))}
    </div>
  );
}

function Toast({ notice }: { readonly notice: Notice }) {
  const dismiss = useStoreApi().getState().dismissNotice;
  useEffect(() => {
    const lifetime = LIFETIME_MS[notice.level];
    if (lifetime === null) return;
    const timer = window.setTimeout(() => dismiss(notice.id), lifetime);
    return () => window.clearTimeout(timer);
  }, [notice, dismiss]);
  return (
    <div
      className={`toast toast-${notice.level}`}
      role={notice.level === 'error' ? 'alert' : 'status'}
      data-testid="notice"
      data-level={notice.level}
    >
      <p>{notice.text}</p>
      {notice.action && (
        <button
          type="button"
          className="button button-quiet"
          onClick={() => {
            dismiss(notice.id);
            notice.action?.run();
          }}
        >
          {notice.action.label}
        </button>
      )}
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(notice.id)}>
        <CloseIcon />
      </button>
    </div>
  );
}
