// The cache as a table, on request: every slot's token, id, position, RoPE position, message and state,
// 64 rows a page (no DOM node per slot at large C). For screen readers, and what browser tests compare
// with the engine's view. Renders with the cache (at most once per frame) only while open. Renderer.
import { useId, useState } from 'react';
import { selectMessages } from '../../state/selectors';
import { useAppStore, useStoreApi } from '../../state/storeContext';
import { slotDetails, slotState } from './slotDetails';

export const TABLE_PAGE = 64;

export function CacheSlotTable() {
  const [open, setOpen] = useState(false);
  const id = useId();
  return (
    <section className="cache-table-section">
      <button type="button" className="link-button" aria-expanded={open} aria-controls={id} onClick={() => setOpen(!open)}>
        {open ? 'Hide the slot table' : 'Show slots as a table'}
      </button>
      <div id={id} hidden={!open}>
        {open && <SlotTable />}
      </div>
    </section>
  );
}

function SlotTable() {
  const store = useStoreApi();
  useAppStore((s) => s.cacheVersion);
  const messages = useAppStore(selectMessages);
  const [page, setPage] = useState(0);
  const model = store.getState().cacheMirror;
  const pages = Math.max(1, Math.ceil(model.capacity / TABLE_PAGE));
  const current = Math.min(page, pages - 1);
  const first = current * TABLE_PAGE;
  const rows = [];
  for (let j = first; j < Math.min(model.capacity, first + TABLE_PAGE); j++) rows.push(slotDetails(model, j, messages));
  return (
    <>
      {pages > 1 && (
        <nav className="cache-table-pages" aria-label="Slot table pages">
          <button type="button" className="button" disabled={current === 0} onClick={() => setPage(current - 1)}>
            Previous
          </button>
          <span>
            Slots {first}–{Math.min(model.capacity, first + TABLE_PAGE) - 1} of {model.capacity}
          </span>
          <button type="button" className="button" disabled={current === pages - 1} onClick={() => setPage(current + 1)}>
            Next
          </button>
        </nav>
      )}
      {/* Scrolls sideways inside the panel where a token is too long to fit. */}
      <div className="cache-table-scroll">
        <table className="cache-table" data-testid="cache-table">
          <caption className="visually-hidden">Cache slots {first} to {first + rows.length - 1}</caption>
          <thead>
            <tr>
              <th scope="col">Slot</th>
              <th scope="col">Token</th>
              <th scope="col">Id</th>
              <th scope="col">Pos</th>
              <th scope="col">RoPE</th>
              <th scope="col">Message</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr
                key={d.slot}
                data-slot={d.slot}
                data-kind={d.kind}
                data-pos={d.pos}
                data-rope-pos={d.ropePos}
                data-token-id={d.tokenId}
                data-text={d.text}
                data-message-id={d.message?.id ?? ''}
                data-char={d.message?.char ?? -1}
                data-visible={d.visible}
                data-head={d.head}
              >
                <th scope="row">
                  {d.slot}
                  {d.kind === 'sink' ? ' (sink)' : d.head ? ' (head)' : ''}
                </th>
                <td>
                  <code>{d.text.replaceAll(' ', '␣')}</code>
                </td>
                <td>{d.empty ? '' : d.tokenId}</td>
                <td>{d.empty ? '' : d.pos}</td>
                <td>{d.empty ? '' : d.ropePos}</td>
                <td>{d.message?.label ?? (d.empty ? '' : 'markup')}</td>
                <td>{slotState(d)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
