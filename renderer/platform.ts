// What the renderer knows of the OS it runs on. Renderer.

/** macOS (⌘ shortcuts), from the browser's platform string. */
export function isMacPlatform(): boolean {
  return /Mac|iPhone|iPad/.test(globalThis.navigator?.platform ?? '');
}

/**
 * The narrowest window that fits sidebar, chat and cache panel side by side (layout.css folds the sidebar
 * away below it: 272 + 320 would leave the chat under 500 px).
 */
export const WIDE_LAYOUT_MIN_WIDTH = 1100;

/** The window fits sidebar, chat and cache panel side by side (false where there is no window). */
export function isWideWindow(): boolean {
  return globalThis.matchMedia?.(`(min-width: ${WIDE_LAYOUT_MIN_WIDTH}px)`).matches ?? false;
}
