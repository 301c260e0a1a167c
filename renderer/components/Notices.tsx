// Toasts for `notice` events and the app's own messages. Info and warnings fade after a while; errors
// stay until dismissed, and so do repairs main made to unreadable files (with what was lost and where
// the damaged file was kept). Renderer.
import { useEffect } from 'react';
import type { Repair } from '../../common/contract';
import type { Notice } from '../state/uiSlice';
import { selectNotices, selectRepairs } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { CloseIcon } from './icons';

const LIFETIME_MS: Record<Notice['level'], number | null> = { info: 6_000, warning: 12_000, error: null };

export function Notices() {
  const notices = useAppStore(selectNotices);
  const repairs = useAppStore(selectRepairs);
  return (
    <div className="notices" aria-label="Notifications" role="region">
      {repairs.map((repair) => (
        <RepairToast key={repair.id} repair={repair} />
      ))}
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
            notice.action!.run();
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

/** A file main could not read and replaced: stays until the user has read it and dismisses it. */
function RepairToast({ repair }: { readonly repair: Repair }) {
  const store = useStoreApi();
  return (
    <div className="toast toast-warning toast-repair" role="alert" data-testid="repair">
      <div className="toast-body">
        <p>{repair.message}</p>
        <p>Lost:</p>
        <ul data-testid="repair-lost">
          {repair.lost.map((item) => (
            <li key={item}>{item}</li>
          ))}
        </ul>
        {repair.keptAs && (
          <p>
            The damaged file was kept as <code data-testid="repair-kept-as">{repair.keptAs}</code>
          </p>
        )}
      </div>
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => void store.getState().dismissRepair(repair.id)}>
        <CloseIcon />
      </button>
    </div>
  );
}
