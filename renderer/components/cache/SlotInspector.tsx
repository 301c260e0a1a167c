// The details of one cache slot: token text and id, original position, the position RoPE sees, slot
// index and kind, state, and the message (with the words around the token). Shown as the canvas's
// tooltip and as the pinned inspector; it follows the slot as tokens stream. Renderer.
import { formatShare } from '../../../common/attentionView';
import { selectMessages, selectSystemPrompt } from '../../state/selectors';
import { useAppStore, useStoreApi } from '../../state/storeContext';
import { slotDetails, slotState } from './slotDetails';

export interface SlotInspectorProps {
  readonly slot: number;
  /** The tooltip's shorter form. */
  readonly compact?: boolean;
  /** Also the attention the slot received at the last step (the panel's Attention mode). */
  readonly showAttention?: boolean;
}

export function SlotInspector({ slot, compact = false, showAttention = false }: SlotInspectorProps) {
  const store = useStoreApi();
  // Follows the slot while tokens stream (at most once per frame, only while a slot is inspected).
  useAppStore((s) => s.cacheVersion);
  const messages = useAppStore(selectMessages);
  const systemPrompt = useAppStore(selectSystemPrompt);
  const model = store.getState().cacheMirror;
  if (slot < 0 || slot >= model.capacity) return null;
  const d = slotDetails(model, slot, messages);
  const content = d.message ? (d.message.id === '' ? systemPrompt : messages.find((m) => m.id === d.message!.id)?.content ?? '') : '';
  const at = d.message?.char ?? -1;
  return (
    <div className={`slot-inspector ${compact ? 'is-compact' : ''}`} data-testid={compact ? 'slot-tooltip' : 'slot-inspector'} data-slot={slot}>
      <p className="slot-token">
        {d.empty ? <span className="slot-empty">empty slot</span> : <code>{d.text.replaceAll(' ', '␣') || '∅'}</code>}
        <span className={`slot-state state-${slotState(d).replace(/ /g, '-')}`}>{slotState(d)}</span>
      </p>
      <dl>
        <div>
          <dt>Slot</dt>
          <dd>
            {d.slot} · {d.kind}
            {d.head ? ' · write head' : ''}
          </dd>
        </div>
        {!d.empty && (
          <>
            <div>
              <dt>Token id</dt>
              <dd>{d.tokenId}</dd>
            </div>
            <div>
              <dt>Position</dt>
              <dd>{d.pos}</dd>
            </div>
            <div>
              <dt>RoPE sees</dt>
              <dd>{d.ropePos}</dd>
            </div>
            <div>
              <dt>Message</dt>
              <dd>{d.message ? d.message.label : 'template markup'}</dd>
            </div>
            {showAttention && model.attention && (
              <div>
                <dt>Attention</dt>
                <dd data-testid="slot-attention">
                  {formatShare(model.attention.mass[slot])}
                  {model.attention.layer === null ? ' (all layers)' : ` (layer ${model.attention.layer + 1})`}
                </dd>
              </div>
            )}
          </>
        )}
      </dl>
      {!compact && at >= 0 && content && (
        <p className="slot-context">
          {at > 24 && '…'}
          <span className="slot-context-before">{content.slice(Math.max(0, at - 24), at)}</span>
          <mark>{content.slice(at, at + Math.max(1, d.text.length))}</mark>
          <span>{content.slice(at + Math.max(1, d.text.length), at + 40)}</span>…
        </p>
      )}
      {d.writtenLast && <p className="slot-note">Written in the last step.</p>}
    </div>
  );
}
