// What the inspector, the keyboard announcement and the slot table say about one slot: its token, id,
// original position, the position RoPE sees, its kind and state, and the message it belongs to. Pure
// over the cache model and the transcript. Renderer.
import type { Message } from '../../../common/contract';
import type { SlotKind } from '../../../common/cacheView';
import type { CacheMirror } from '../../state/cacheMirror';
import type { OwnerRole } from './cachePalette';

/** The message a token spells, as the UI names it. */
export interface SlotMessage {
  readonly id: string;
  readonly role: OwnerRole;
  /** "System prompt", "Message 3 (you)", "Message 4 (reply)". */
  readonly label: string;
  /** Where the token begins in the message's text. */
  readonly char: number;
}

export interface SlotDetails {
  readonly slot: number;
  readonly kind: SlotKind;
  readonly empty: boolean;
  /** Display text (`↵` for a newline), '' when empty. */
  readonly text: string;
  readonly tokenId: number;
  readonly pos: number;
  readonly ropePos: number;
  readonly visible: boolean;
  readonly head: boolean;
  readonly writtenLast: boolean;
  /** Null for template markup (role tags, turn ends) and empty slots. */
  readonly message: SlotMessage | null;
}

/** Names message `id` ('' is the system prompt) from the transcript; null when it is not in it. */
export function messageOf(id: string, messages: readonly Message[]): { role: OwnerRole; label: string } | null {
  if (id === '') return { role: 'system', label: 'System prompt' };
  const index = messages.findIndex((m) => m.id === id);
  if (index < 0) return null;
  const role = messages[index].role;
  const who = role === 'user' ? 'you' : role === 'assistant' ? 'reply' : 'system';
  return { role, label: `Message ${index + 1} (${who})` };
}

export function slotDetails(model: CacheMirror, j: number, messages: readonly Message[]): SlotDetails {
  const owner = model.owner[j];
  const named = owner >= 0 ? messageOf(model.ownerIds[owner], messages) : null;
  const empty = model.pos[j] < 0;
  return {
    slot: j,
    kind: j < model.sink ? 'sink' : model.isPinSlot(j) ? 'pin' : 'ring',
    empty,
    text: empty ? '' : model.texts[j],
    tokenId: model.tokenId[j],
    pos: model.pos[j],
    ropePos: model.ropePos[j],
    visible: model.visible(j),
    head: j === model.head && j >= model.sink,
    writtenLast: model.writtenLast(j),
    message: named && { id: model.ownerIds[owner], ...named, char: model.ownerChar[j] },
  };
}

/**
 * The state word of a slot: empty, pinned (a sink), pinned to memory (a pin slot: seen once its copy in
 * the ring has left the window), in view or out of view.
 */
export function slotState(d: Readonly<SlotDetails>): string {
  if (d.empty) return 'empty';
  if (d.kind === 'sink') return 'pinned';
  if (d.kind === 'pin') return d.visible ? 'pinned to memory' : 'pinned to memory (its copy in the window is seen)';
  return d.visible ? 'in view' : 'out of view';
}

/** One sentence for screen readers (the canvas's live region). */
export function describeSlot(d: Readonly<SlotDetails>, capacity: number): string {
  const where = `Slot ${d.slot + 1} of ${capacity}, ${d.kind === 'pin' ? 'pinned memory' : d.kind}${d.head ? ', write head' : ''}`;
  if (d.empty) return `${where}: empty.`;
  const token = d.text.trim() ? `token “${d.text}”` : `whitespace token “${d.text.replaceAll(' ', '␣')}”`;
  const message = d.message ? `, in ${d.message.label}` : ', template markup';
  return `${where}: ${token}, id ${d.tokenId}, position ${d.pos}, RoPE sees ${d.ropePos}${message}; ${slotState(d)}${d.writtenLast ? ', written in the last step' : ''}.`;
}
