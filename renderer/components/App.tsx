// The app shell: sidebar, main area (chat, models or first run), optional right panel, the settings
// dialog, the shortcuts sheet and notices; applies the theme, the keyboard shortcuts and the global
// Esc-stops-streaming key. Renderer.
import { useEffect, useState } from 'react';
import { commandFor } from '../../common/shortcuts';
import { isMacPlatform } from '../platform';
import {
  selectActiveTitle,
  selectCachePanelOpen,
  selectSidebarShown,
  selectHasModel,
  selectInitialized,
  selectModels,
  selectModelsLoaded,
  selectTheme,
  selectView,
} from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { CachePanel } from './CachePanel';
import { ChatView } from './ChatView';
import { FirstRun } from './FirstRun';
import { ModelsPage } from './ModelsPage';
import { Notices } from './Notices';
import { SettingsDialog } from './SettingsDialog';
import { ShortcutsDialog } from './ShortcutsDialog';
import { Sidebar } from './Sidebar';

export function App() {
  const theme = useAppStore(selectTheme);
  const panelOpen = useAppStore(selectCachePanelOpen);
  const sidebarShown = useAppStore(selectSidebarShown);
  const view = useAppStore(selectView);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  useEscapeStops();
  useShortcuts();
  return (
    // In a narrow window the chat with its panel folds the sidebar away (layout.css); it can be shown over them.
    <div className={`app-shell ${panelOpen ? 'has-panel' : ''} is-${view} ${sidebarShown ? 'sidebar-shown' : ''}`}>
      <DocumentTitle />
      <Sidebar />
      <main className="main">
        {/* In the flow above the page, so a notice never covers Send or a Download button. */}
        <Notices />
        <MainContent />
      </main>
      {panelOpen && <CachePanel />}
      <SettingsDialog />
      <ShortcutsDialog />
    </div>
  );
}

function MainContent() {
  const view = useAppStore(selectView);
  const initialized = useAppStore(selectInitialized);
  const modelsLoaded = useAppStore(selectModelsLoaded);
  const noModels = useAppStore(selectModels).length === 0;
  const hasModel = useAppStore(selectHasModel);
  // Onboarding: once shown, the first-run screen stays until a model has loaded, so a folder that is
  // accepted but cannot run keeps its error in view.
  const [onboarding, setOnboarding] = useState(false);
  if (modelsLoaded && noModels && !onboarding) setOnboarding(true);
  if (hasModel && onboarding) setOnboarding(false);
  if (!initialized && !modelsLoaded) {
    return (
      <div className="splash" aria-busy="true">
        <span className="spinner" role="status" aria-label="Starting Ouro" />
      </div>
    );
  }
  if (view === 'models') return <ModelsPage />;
  if (noModels || onboarding) return <FirstRun />;
  return <ChatView />;
}

/** The window title follows the open conversation. */
function DocumentTitle() {
  const title = useAppStore(selectActiveTitle);
  useEffect(() => {
    document.title = title ? `${title} — Ouro` : 'Ouro';
  }, [title]);
  return null;
}

/** The keyboard shortcuts (common/shortcuts), unless a dialog is open or a control already used the key. */
function useShortcuts(): void {
  const store = useStoreApi();
  useEffect(() => {
    const isMac = isMacPlatform();
    const onKey = (event: KeyboardEvent) => {
      if (event.defaultPrevented || document.querySelector('dialog[open]')) return;
      const command = commandFor(event, isMac);
      if (!command) return;
      event.preventDefault();
      store.getState().handleCommand(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}

/** Esc stops a streaming reply, unless a dialog or an inner control (editor, rename) used the key. */
function useEscapeStops(): void {
  const store = useStoreApi();
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key !== 'Escape' || event.defaultPrevented) return;
      if (document.querySelector('dialog[open]')) return;
      const state = store.getState();
      if (!state.stream) return;
      event.preventDefault();
      void state.stop();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [store]);
}
