// The system prompt above the transcript, marked as the cache holds it: pinned in the sink slots (the
// model always sees it), partly pinned, or out of view once the window has moved past it. Renderer.
import { useId, useState } from 'react';
import { selectPinnedChars, selectSystemPrompt, selectUnfed } from '../../state/selectors';
import { useAppStore } from '../../state/storeContext';
import { HorizonText, PINNED_EXPLAINED } from './HorizonText';

/** Message id the cache view gives the system prompt. */
const SYSTEM_ID = '';

export interface SystemPromptRowProps {
  /** Something has left the model's window (the horizon is set). */
  readonly outOfView: boolean;
}

/** How much of a system prompt of `length` characters the sinks hold. */
export function pinState(length: number, pinned: number): 'all' | 'part' | 'none' {
  if (length > 0 && pinned >= length) return 'all';
  return pinned > 0 ? 'part' : 'none';
}

export function SystemPromptRow({ outOfView }: SystemPromptRowProps) {
  const prompt = useAppStore(selectSystemPrompt);
  const pinned = useAppStore(selectPinnedChars(SYSTEM_ID));
  const unfed = useAppStore(selectUnfed(SYSTEM_ID));
  const [open, setOpen] = useState(false);
  const bodyId = useId();
  if (!prompt.trim()) return null;
  const state = pinState(prompt.length, pinned);
  const note = unfed
    ? 'Not part of what the model reads: this model’s chat template leaves it out'
    : state === 'all'
      ? 'Pinned in the sinks: the model always sees it'
      : state === 'part'
        ? `The first ${pinned} characters are pinned in the sinks${outOfView ? '; the rest is out of view' : ''}`
        : outOfView
          ? 'Out of the model’s view'
          : 'In view';
  return (
    <section className={`system-prompt-row pin-${state} ${outOfView && state !== 'all' && !unfed ? 'is-out' : ''}`} aria-label="System prompt" data-testid="system-prompt" data-pinned={state}>
      <button type="button" className="system-prompt-toggle" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen(!open)}>
        <span className="system-prompt-label">System prompt</span>
        {state !== 'none' && (
          <span className="pinned-badge" title={PINNED_EXPLAINED}>
            {state === 'all' ? 'Pinned' : 'Partly pinned'}
          </span>
        )}
        <span className="system-prompt-note">{note}</span>
      </button>
      <div id={bodyId} className="system-prompt-body" hidden={!open}>
        {open && <HorizonText messageId={SYSTEM_ID} text={prompt} markdown={false} placement={outOfView && state !== 'all' ? 'hidden' : 'visible'} />}
      </div>
    </section>
  );
}
