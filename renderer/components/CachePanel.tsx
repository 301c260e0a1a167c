// The right-side panel slot (toggled by the Cache panel button or the View menu). Until the cache
// visualizer (issue 4) fills it, it shows the cache totals of the last reply and the loaded model.
// Renderer.
import { formatBytes, formatCount } from '../format';
import { selectCurrentModel, selectLastStats } from '../state/selectors';
import { useAppStore, useStoreApi } from '../state/storeContext';
import { CloseIcon } from './icons';

export function CachePanel() {
  const store = useStoreApi();
  const stats = useAppStore(selectLastStats);
  const model = useAppStore(selectCurrentModel);
  return (
    <aside className="side-panel" aria-label="Cache panel" data-testid="cache-panel">
      <header className="side-panel-header">
        <h2>Context cache</h2>
        <button type="button" className="icon-button" aria-label="Close panel" onClick={() => store.getState().toggleCachePanel()}>
          <CloseIcon />
        </button>
      </header>
      <dl className="stat-list">
        <div>
          <dt>Tokens seen</dt>
          <dd>{stats ? formatCount(stats.tokensSeen) : '–'}</dd>
        </div>
        <div>
          <dt>Tokens out of view</dt>
          <dd>{stats ? formatCount(stats.tokensEvicted) : '–'}</dd>
        </div>
        <div>
          <dt>KV cache</dt>
          <dd>{stats ? formatBytes(stats.kvBytes) : '–'}</dd>
        </div>
        <div>
          <dt>Model</dt>
          <dd>{model ? `${model.name} (${model.provider})` : 'none loaded'}</dd>
        </div>
      </dl>
    </aside>
  );
}
