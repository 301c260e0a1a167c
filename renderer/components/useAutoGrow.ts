// Grows a textarea with its content up to a cap, then scrolls inside it. Renderer.
import { useLayoutEffect, type RefObject } from 'react';

/** Resizes `ref`'s textarea whenever `value` changes. */
export function useAutoGrow(ref: RefObject<HTMLTextAreaElement | null>, value: string, maxPx = 240): void {
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = 'auto';
    const height = Math.min(el.scrollHeight, maxPx);
    el.style.height = `${height}px`;
    el.style.overflowY = el.scrollHeight > maxPx ? 'auto' : 'hidden';
  }, [ref, value, maxPx]);
}
