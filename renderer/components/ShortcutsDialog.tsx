// The keyboard shortcuts sheet (Ctrl/⌘+/, the sidebar's "Keyboard shortcuts", Help in the menu): every
// shortcut from common/shortcuts, as this OS writes it. Renderer.
import { keysLabel, OTHER_KEYS, SHORTCUTS } from '../../common/shortcuts';
import { isMacPlatform } from '../platform';
import { selectShortcutsOpen } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { Dialog } from './Dialog';

export function ShortcutsDialog() {
  const store = useStoreApi();
  const open = useAppStore(selectShortcutsOpen);
  const isMac = isMacPlatform();
  const rows: (readonly [string, string])[] = [...SHORTCUTS.map((s) => [keysLabel(s, isMac), s.label] as const), ...OTHER_KEYS];
  return (
    <Dialog open={open} title="Keyboard shortcuts" className="shortcuts-dialog" onClose={() => store.getState().setShortcutsOpen(false)}>
      <dl className="shortcut-list" data-testid="shortcut-list">
        {rows.map(([keys, label]) => (
          <div key={keys} className="shortcut-row">
            <dt>
              <kbd>{keys}</kbd>
            </dt>
            <dd>{label}</dd>
          </div>
        ))}
      </dl>
    </Dialog>
  );
}
