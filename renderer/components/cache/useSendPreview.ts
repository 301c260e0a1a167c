// The composer's horizon preview: a moment after typing stops (never while a reply streams), asks main
// how many earlier tokens sending the draft would push out of the model's view. Renderer.
import { useEffect, useState } from 'react';
import type { SendPreview } from '../../../common/contract';
import { useStoreApi } from '../../state/storeContext';

/** Quiet time after the last keystroke before a preview is asked for. */
export const PREVIEW_DEBOUNCE_MS = 400;

/** The preview of `draft` in `conversationId`, or null (none asked, stale, or unavailable). */
export function useSendPreview(conversationId: string | null, draft: string, enabled: boolean): SendPreview | null {
  const store = useStoreApi();
  const [preview, setPreview] = useState<{ key: string; result: SendPreview } | null>(null);
  const key = `${conversationId}\u0000${draft}`;
  useEffect(() => {
    if (!enabled || conversationId === null || !draft.trim()) return;
    let current = true;
    const timer = setTimeout(() => {
      void store
        .getState()
        .previewSend(conversationId, draft)
        .then((result) => {
          if (current && result) setPreview({ key, result });
        });
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [store, conversationId, draft, enabled, key]);
  return enabled && preview?.key === key ? preview.result : null;
}
