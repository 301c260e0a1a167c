// Renderer entry: connects the bridge, builds the store, routes events into it and mounts the app.
// Runs in the renderer (sandboxed page).
import './zodConfig';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectBridge } from './bridge';
import { App } from './components/App';
import { createAppStore } from './state/appStore';
import { createEventRouter } from './state/eventRouter';
import { StoreProvider } from './state/storeContext';
import './styles/app.css';

const bridge = connectBridge();
const store = createAppStore({ api: bridge.api });
bridge.api.subscribe(createEventRouter(store));

store.getState().setConnection(bridge.state());
let dropped = false;
bridge.onState((state) => {
  store.getState().setConnection(state);
  if (state === 'reconnecting') dropped = true;
  if (state === 'open' && dropped) {
    dropped = false;
    void store.getState().resync();
  }
});
void store.getState().initialize();

const root = document.getElementById('root');
if (!root) throw new Error('index.html lacks #root');
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
