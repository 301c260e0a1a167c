// Settings → Local server's state in the renderer: `server` events and `server.status` land in the store,
// and the status line says what the server is doing. Runs under Vitest in Node.
import { describe, expect, it } from 'vitest';
import type { LocalServerStatus } from '../../common/contract';
import { serverStatusText } from '../../renderer/components/LocalServerSettings';
import { scriptedApi, storeWith } from './rendererTestKit';

const on: LocalServerStatus = { state: 'on', url: 'http://127.0.0.1:8080/v1', error: null, active: 1, served: 3, streams: 2, kvBytes: 3 * 1024 * 1024 };

describe('local server status', () => {
  it('takes the status from server events and from server.status', async () => {
    const api = scriptedApi({ 'server.status': () => ({ ...on, active: 0 }) });
    const { store, route } = storeWith(api);
    expect(store.getState().serverStatus).toBeNull();
    route({ type: 'server', status: on });
    expect(store.getState().serverStatus).toEqual(on);
    await store.getState().loadServerStatus();
    expect(store.getState().serverStatus?.active).toBe(0);
  });

  it('says what the server is doing in one line', () => {
    expect(serverStatusText(null)).toBe('The server is off.');
    expect(serverStatusText(on)).toBe('Serving at http://127.0.0.1:8080/v1 — answering 1 request; 3 answered; 2 conversations cached, 3.0 MB of cache.');
    expect(serverStatusText({ ...on, active: 0, streams: 1, kvBytes: 0 })).toBe('Serving at http://127.0.0.1:8080/v1 — idle; 3 answered; 1 conversation cached.');
    expect(serverStatusText({ ...on, state: 'error', url: null, error: 'port 8080 is in use by another program; pick another port' })).toBe(
      'The server could not start: port 8080 is in use by another program; pick another port.',
    );
  });
});
