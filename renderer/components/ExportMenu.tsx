// "Export" in the chat header: saves the open conversation as Markdown or JSON through a download
// (Electron shows its save dialog; a browser saves to its downloads). Renderer.
import { useEffect, useId, useRef, useState } from 'react';
import { isApiError } from '../../common/contract';
import { selectActiveId } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { DownloadIcon } from './icons';

const FORMATS = [
  { format: 'markdown', label: 'Markdown (.md)', type: 'text/markdown' },
  { format: 'json', label: 'JSON (.json)', type: 'application/json' },
] as const;

/** Hands `content` to the browser as a file download. */
function saveAs(fileName: string, content: string, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: `${type};charset=utf-8` }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  // The download has its own reference by now; revoke on the next task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

export function ExportMenu() {
  const store = useStoreApi();
  const activeId = useAppStore(selectActiveId);
  const [open, setOpen] = useState(false);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const exportAs = async (format: (typeof FORMATS)[number]) => {
    setOpen(false);
    if (activeId === null) return;
    const result = await store.getState().exportConversation(activeId, format.format);
    if (isApiError(result)) store.getState().pushNotice('error', `Export failed: ${result.message}`);
    else saveAs(result.fileName, result.content, format.type);
  };

  return (
    <div className="export-menu" ref={root}>
      <button
        type="button"
        className="icon-button"
        aria-label="Export conversation"
        title="Export conversation"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        disabled={activeId === null}
        onClick={() => setOpen((o) => !o)}
      >
        <DownloadIcon />
      </button>
      {open && (
        <div className="export-menu-list" role="menu" id={menuId} aria-label="Export as">
          {FORMATS.map((f) => (
            <button key={f.format} type="button" role="menuitem" className="export-menu-item" onClick={() => void exportAs(f)}>
              {f.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
